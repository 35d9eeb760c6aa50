/**
 * The real program (infra/index.ts) deployed through the live harness on the local Docker engine
 * with the stand-in images, checked from outside: HTTPS through Caddy trusting only its own root
 * CA, the bootstrap admin's first use of the API, docker inspect of every container, an idempotent
 * second run, secret rotation, and a teardown that leaves nothing behind.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as tls from "node:tls";
import { Client } from "pg";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../support/harness/providers/docker/engine";
import { changes, leftovers, type HarnessRun } from "../support/harness/run";
import { LiveStack } from "../support/live-stack";
import { unwrapDeep } from "../support/harness/secrets";
import type { StackJson } from "../support/harness/stackJson";
import { StateStore } from "../support/harness/state";

const live = new LiveStack("livetest", { http: 18080, https: 18443 });
const STACK = live.name;

function expectSuccess(run: HarnessRun): void {
  // The harness's own error output is the useful failure message (secrets are redacted in it).
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
}

let stack: StackJson;
let agent: Agent;

/** An HTTPS request to the API host through Caddy on 127.0.0.1, trusting only Caddy's root CA. */
async function api(method: "GET" | "POST", path: string, token?: string, body?: unknown): Promise<{ status: number; json: unknown; headers: Record<string, unknown> }> {
  const url = new URL(stack.url);
  const res = await request(`https://127.0.0.1:${url.port}${path}`, {
    method,
    dispatcher: agent,
    headers: {
      host: url.host,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? (JSON.parse(text) as unknown) : undefined, headers: res.headers };
}

/** SHA-256 fingerprint of the certificate Caddy serves for the API host, verified against its CA. */
function siteCertificate(): Promise<string> {
  const url = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port: Number(url.port), servername: url.hostname, ca: readFileSync(stack.caCert, "utf8") }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on("error", reject);
  });
}

async function containerIds(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of stack.containers) out[name] = (await docker.getContainer(name).inspect()).Id;
  return out;
}

/** Every generated secret value of the stack, read from the harness's (encrypted) state. */
function generatedSecrets(): string[] {
  const state = new StateStore(join(live.stateDir, "state.json")).load(STACK);
  const values: string[] = [];
  for (const r of state.resources) {
    const out = unwrapDeep(r.outputs) as Record<string, unknown>;
    if (r.type === "random:index/randomBytes:RandomBytes") values.push(String(out["hex"]), String(out["base64"]));
    if (r.type === "random:index/randomPassword:RandomPassword") values.push(String(out["result"]));
  }
  return values;
}

async function connectAs(role: "app" | "owner", password: string): Promise<void> {
  const client = new Client({
    host: stack.postgres.host,
    port: stack.postgres.port,
    database: stack.postgres.database,
    user: stack.postgres.roles[role]?.user,
    password,
    ssl: { ca: readFileSync(stack.postgres.caCert, "utf8"), servername: `krc-${STACK}-db` },
    connectionTimeoutMillis: 10_000,
  });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } finally {
    await client.end().catch(() => undefined);
  }
}

const newAdminPassword = `Lv-${randomBytes(12).toString("base64url")}-9q!`;
let adminToken = "";

describe("the dev stack deployed for real", () => {
  beforeAll(async () => {
    // Leftovers of an interrupted run: objects by label, and the state that describes them.
    await live.reset();
    const cold = await live.up();
    expectSuccess(cold);
    console.warn(`live: cold deploy of ${STACK} took ${cold.seconds.toFixed(1)} s (${cold.summary?.create ?? 0} resources)`);
    stack = live.load();
    agent = new Agent({ connect: { ca: readFileSync(stack.caCert, "utf8"), servername: new URL(stack.url).hostname } });
  });

  afterAll(async () => {
    await agent?.close();
    await live.down();
    await live.reset();
  });

  it("answers /healthz with 200 over HTTPS trusted through Caddy's root CA only", async () => {
    const res = await api("GET", "/healthz");
    expect(res.status).toBe(200);
    expect(res.headers["strict-transport-security"]).toBeDefined();
  });

  it("fails TLS when Caddy's root CA is not trusted", async () => {
    const untrusting = new Agent({ connect: { servername: new URL(stack.url).hostname } });
    try {
      await expect(request(`https://127.0.0.1:${live.ports.https}/healthz`, { dispatcher: untrusting, headers: { host: new URL(stack.url).host } })).rejects.toThrow(
        /certificate/i,
      );
    } finally {
      await untrusting.close();
    }
  });

  it("lets the bootstrap admin log in, change the initial password, create a client and read it back", async () => {
    const login = await api("POST", "/auth/login", undefined, { email: stack.adminEmail, password: stack.adminPassword });
    expect(login.status).toBe(200);
    const first = login.json as { token: string; user: { mustChangePassword: boolean; role: string } };
    expect(first.user).toMatchObject({ mustChangePassword: true, role: "admin" });

    const changed = await api("POST", "/auth/password", first.token, { currentPassword: stack.adminPassword, newPassword: newAdminPassword });
    expect(changed.status).toBe(200);
    adminToken = (changed.json as { token: string }).token;

    const created = await api("POST", "/clients", adminToken, { name: "Ada Lovelace", phone: "(661) 555-0142", email: "ada@example.com" });
    expect(created.status).toBe(201);
    const id = (created.json as { id: string }).id;
    const read = await api("GET", `/clients/${id}`, adminToken);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ id, name: "Ada Lovelace", phone: "6615550142", email: "ada@example.com" });
  });

  it("runs every container with the hardened baseline and no secret in its environment", async () => {
    const secrets = [...generatedSecrets(), stack.adminPassword, ...Object.values(stack.postgres.roles).map((r) => r.password)];
    expect(secrets.length).toBeGreaterThan(8);
    expect(stack.containers.length).toBe(4);
    for (const name of stack.containers) {
      const info = await docker.getContainer(name).inspect();
      const where = `container ${name}`;
      expect(info.HostConfig.SecurityOpt, where).toContain("no-new-privileges:true");
      expect(info.HostConfig.ReadonlyRootfs, where).toBe(true);
      expect(info.HostConfig.CapDrop, where).toEqual(["ALL"]);
      expect(info.HostConfig.Privileged, where).toBe(false);
      expect(info.HostConfig.Memory, where).toBeGreaterThan(0);
      expect(info.HostConfig.LogConfig, where).toMatchObject({ Type: "json-file", Config: { "max-size": expect.any(String), "max-file": expect.any(String) } });
      if (name.endsWith("-proxy")) {
        // Caddy runs as root in its image and binds 80/443 with NET_BIND_SERVICE only.
        expect(info.HostConfig.CapAdd, where).toEqual(["NET_BIND_SERVICE"]);
      } else {
        expect(info.Config.User, where).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      }
      if (name.endsWith("-migrate")) {
        expect(info.HostConfig.RestartPolicy?.Name, where).toBe("no");
        expect(info.State.ExitCode, where).toBe(0);
      } else {
        expect(info.HostConfig.RestartPolicy?.Name, where).toBe("unless-stopped");
        expect(info.Config.Healthcheck?.Test?.length ?? 0, where).toBeGreaterThan(0);
        expect(info.State.Health?.Status, where).toBe("healthy");
      }
      const env = (info.Config.Env ?? []).join("\n");
      for (const s of secrets) expect(env.includes(s), `${where} has a secret value in its environment`).toBe(false);
    }
  });

  it("changes nothing on a second run with the same config, keeping every container", async () => {
    const before = await containerIds();
    const again = await live.up();
    expectSuccess(again);
    console.warn(`live: no-change run took ${again.seconds.toFixed(1)} s`);
    expect(changes(again.summary)).toBe(0);
    expect(await containerIds()).toEqual(before);
  });

  it("rotates the JWT signing key and the app role's password when their versions are bumped", async () => {
    const oldAppPassword = stack.postgres.roles["app"]?.password ?? "";
    await connectAs("app", oldAppPassword);
    expect((await api("GET", "/auth/me", adminToken)).status).toBe(200);

    const rotated = await live.up("krc:jwtSigningKeyVersion=2", "krc:dbAppPasswordVersion=2");
    expectSuccess(rotated);
    stack = live.load();
    const newAppPassword = stack.postgres.roles["app"]?.password ?? "";
    expect(newAppPassword).not.toBe(oldAppPassword);

    // A token signed with the old key is rejected; a fresh login works.
    expect((await api("GET", "/auth/me", adminToken)).status).toBe(401);
    const login = await api("POST", "/auth/login", undefined, { email: stack.adminEmail, password: newAdminPassword });
    expect(login.status).toBe(200);
    expect((await api("GET", "/auth/me", (login.json as { token: string }).token)).status).toBe(200);

    // The app role's old password is refused, the new one accepted, and the API uses the new one.
    await expect(connectAs("app", oldAppPassword)).rejects.toThrow(/password authentication failed/);
    await connectAs("app", newAppPassword);
    expect((await api("GET", "/readyz")).status).toBe(200);
  });

  it("keeps Caddy's CA and site certificate when the proxy container is replaced (state on volumes)", async () => {
    const proxy = stack.containers.find((n) => n.endsWith("-proxy")) ?? "";
    const caBefore = readFileSync(stack.caCert, "utf8");
    const before = { id: (await docker.getContainer(proxy).inspect()).Id, cert: await siteCertificate() };

    // A new Caddyfile replaces the proxy container; the earlier rotations stay as they are.
    const replaced = await live.up("krc:jwtSigningKeyVersion=2", "krc:dbAppPasswordVersion=2", "krc:maxBodyBytes=2097152");
    expectSuccess(replaced);
    stack = live.load();

    expect((await docker.getContainer(proxy).inspect()).Id).not.toBe(before.id);
    expect(await siteCertificate()).toBe(before.cert);
    expect(readFileSync(stack.caCert, "utf8")).toBe(caBefore);
  });

  it("leaves no container, network or volume of the stack after teardown", async () => {
    const down = await live.down();
    expectSuccess(down);
    expect(await leftovers(STACK)).toEqual({ containers: [], networks: [], volumes: [] });
  });
});
