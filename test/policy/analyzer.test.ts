/**
 * The policy pack as the Pulumi engine drives it: `policy/index.ts` is started the way the
 * analyzer plugin starts it (it prints its gRPC port), and the test speaks the engine's analyzer
 * protocol to it: resources serialized as the engine sends them, secrets in Pulumi's secret
 * envelope, unknown preview values as the engine's sentinel.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { join } from "node:path";
import type { Readable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import {
  AnalyzeRequest,
  AnalyzerPropertyDependencies,
  AnalyzerResource,
  AnalyzerResourceOptions,
  AnalyzeStackRequest,
  EnforcementLevel,
  type AnalyzeResponse,
  type AnalyzerInfo,
} from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POLICIES } from "../../policy/policies";
import { TYPES } from "../../policy/rules/common";
import { containerProps, urn } from "./args";

const ROOT = join(__dirname, "..", "..");
// Pulumi's wire markers (sdk/nodejs/runtime/rpc.ts): the secret signature and the unknown sentinel.
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

let pack: ChildProcessByStdio<null, Readable, Readable>;
let client: AnalyzerClient;

function secret(value: unknown): Record<string, unknown> {
  return { [SIG_KEY]: SECRET_SIG, value };
}

function call<Req, Res>(method: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => void method.call(client, req, (err, res) => (err ? reject(err) : resolve(res))));
}

interface Diagnostic {
  readonly policy: string;
  readonly message: string;
  readonly mandatory: boolean;
}

function diagnostics(res: AnalyzeResponse): Diagnostic[] {
  return res.getDiagnosticsList().map((d) => ({
    policy: d.getPolicyname(),
    message: d.getMessage(),
    mandatory: d.getEnforcementlevel() === EnforcementLevel.MANDATORY,
  }));
}

function analyzeRequest(name: string, props: Record<string, unknown>): AnalyzeRequest {
  return new AnalyzeRequest()
    .setType(TYPES.container)
    .setName(name)
    .setUrn(urn(TYPES.container, name))
    .setProperties(Struct.fromJavaScript(props as Parameters<typeof Struct.fromJavaScript>[0]))
    .setOptions(new AnalyzerResourceOptions());
}

function stackResource(type: string, name: string, props: Record<string, unknown>, deps: Record<string, string[]> = {}): AnalyzerResource {
  const r = new AnalyzerResource()
    .setType(type)
    .setName(name)
    .setUrn(urn(type, name))
    .setProperties(Struct.fromJavaScript(props as Parameters<typeof Struct.fromJavaScript>[0]))
    .setOptions(new AnalyzerResourceOptions());
  for (const [key, urns] of Object.entries(deps)) r.getPropertydependenciesMap().set(key, new AnalyzerPropertyDependencies().setUrnsList(urns));
  return r;
}

beforeAll(async () => {
  pack = spawn(join(ROOT, "node_modules", ".bin", "tsx"), ["policy/index.ts"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const port = await new Promise<string>((resolve, reject) => {
    let err = "";
    pack.stderr.on("data", (d: Buffer) => (err += d.toString()));
    pack.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()));
    pack.once("exit", (code) => reject(new Error(`policy pack exited ${code}: ${err}`)));
  });
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 30_000);

afterAll(() => {
  client?.close();
  pack?.kill();
});

describe("the policy pack over the analyzer protocol", () => {
  it("announces every rule as mandatory when the engine asks for its info", async () => {
    const info = await call<Empty, AnalyzerInfo>(client.getAnalyzerInfo, new Empty());
    expect(info.getName()).toBe("krc-hardening");
    const served = info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()]);
    expect(served).toEqual(POLICIES.map((p) => [p.name, EnforcementLevel.MANDATORY]));
  });

  it("reports nothing for a hardened container when it is analyzed", async () => {
    expect(diagnostics(await call(client.analyze, analyzeRequest("api", containerProps("api"))))).toEqual([]);
  });

  it("blocks a privileged container with a secret env when the secret arrives in its envelope", async () => {
    const value = "hunter2-hunter2-hunter2";
    const props = { ...containerProps("api"), privileged: true, envs: ["PORT=8080", secret(`POSTGRES_PASSWORD=${value}`)] };
    const found = diagnostics(await call(client.analyze, analyzeRequest("api", props)));
    expect(found).toEqual([
      { policy: "krc-container-privileges", message: expect.stringContaining("privileged must not be true"), mandatory: true },
      { policy: "krc-no-secret-in-envs", message: expect.stringContaining("POSTGRES_PASSWORD is named like a secret"), mandatory: true },
    ]);
    expect(JSON.stringify(found)).not.toContain(value);
  });

  it("downgrades a rule to advisory for that resource when a value is unknown during preview", async () => {
    const props = { ...containerProps("api"), envs: UNKNOWN };
    const found = diagnostics(await call(client.analyze, analyzeRequest("api", props))).filter((d) => d.policy === "krc-no-secret-in-envs");
    expect(found).toEqual([{ policy: "krc-no-secret-in-envs", message: expect.stringContaining("can't run policy 'krc-no-secret-in-envs'"), mandatory: false }]);
  });

  it("blocks a stack whose container env is computed from a generated password when the engine sends property dependencies", async () => {
    const password = stackResource("random:index/randomPassword:RandomPassword", "jwt", { result: secret("x") });
    const api = stackResource(TYPES.container, "api", containerProps("api"), { envs: [urn("random:index/randomPassword:RandomPassword", "jwt")] });
    const found = diagnostics(await call(client.analyzeStack, new AnalyzeStackRequest().setResourcesList([password, api])));
    expect(found).toEqual([{ policy: "krc-no-secret-source-in-envs", message: expect.stringContaining("envs of api are computed from random:index/randomPassword:RandomPassword jwt"), mandatory: true }]);
  });
});
