/**
 * In-memory Pulumi mocks for unit tests of the resource graph: every registered resource is
 * recorded with its inputs, providers answer with plausible computed outputs, and every generated
 * secret value is remembered so tests can prove it never appears where it must not.
 */
import { createHash, randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** One registered resource as the mock monitor saw it. */
export interface Recorded {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  /** Inputs with secrets unwrapped. */
  readonly inputs: Record<string, unknown>;
  /** Top-level input fields that arrived marked secret (wholly or in part). */
  readonly secretFields: readonly string[];
}

/** A child resource's options, as a component's `transformations` see them. */
export interface RecordedOptions {
  readonly type: string;
  readonly name: string;
  readonly opts: pulumi.CustomResourceOptions;
}

export interface MockOptions {
  /** Exit code the mock reports for a container (by container name); 0 when not listed. */
  readonly exitCodes?: Readonly<Record<string, number>>;
}

export class RecordingMocks implements pulumi.runtime.Mocks {
  readonly resources: Recorded[] = [];
  /** Every value a mocked secret-producing resource returned. */
  readonly secretValues = new Set<string>();
  private subnet = 20;

  constructor(private readonly options: MockOptions = {}) {}

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
    const raw = args.inputs as Record<string, unknown>;
    const inputs = unwrapSecrets(raw) as Record<string, unknown>;
    const secretFields = Object.keys(raw).filter((key) => containsSecret(raw[key]));
    this.resources.push({ type: args.type, name: args.name, custom: args.custom ?? true, inputs, secretFields });
    return { id: `${args.name}-id`, state: { ...inputs, ...this.computed(args.type, args.name, inputs) } };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    return args.inputs as Record<string, unknown>;
  }

  /** Recorded resources of one type token. */
  ofType(type: string): Recorded[] {
    return this.resources.filter((r) => r.type === type);
  }

  /** Recorded Docker containers, by container name. */
  containers(): Map<string, Recorded> {
    return new Map(this.ofType("docker:index/container:Container").map((r) => [r.inputs.name as string, r]));
  }

  private secret(value: string): string {
    this.secretValues.add(value);
    return value;
  }

  private computed(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    switch (type) {
      case "random:index/randomBytes:RandomBytes": {
        const bytes = randomBytes(Number(inputs.length));
        return { hex: this.secret(bytes.toString("hex")), base64: this.secret(bytes.toString("base64")) };
      }
      case "random:index/randomPassword:RandomPassword":
        return { result: this.secret(`Aa1!${randomBytes(15).toString("base64url")}`) };
      case "tls:index/privateKey:PrivateKey":
        return { privateKeyPem: this.secret(`-----BEGIN PRIVATE KEY-----\n${randomBytes(24).toString("base64")}\n`), publicKeyPem: "pub" };
      case "tls:index/selfSignedCert:SelfSignedCert":
      case "tls:index/locallySignedCert:LocallySignedCert":
        return { certPem: `-----BEGIN CERTIFICATE-----\n${name}\n` };
      case "tls:index/certRequest:CertRequest":
        return { certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\n${name}\n` };
      case "docker:index/network:Network": {
        if (Array.isArray(inputs.ipamConfigs) && inputs.ipamConfigs.length > 0) return {};
        const octet = this.subnet++;
        return { ipamConfigs: [{ subnet: `172.${octet}.0.0/16`, gateway: `172.${octet}.0.1` }] };
      }
      case "docker:index/remoteImage:RemoteImage":
        return { imageId: `sha256:${createHash("sha256").update(String(inputs.name)).digest("hex")}` };
      case "docker:index/image:Image":
        return { repoDigest: "", baseImageName: String(inputs.imageName) };
      case "docker:index/container:Container": {
        const networks = (inputs.networksAdvanced as { name: string }[] | undefined) ?? [];
        return {
          networkDatas: networks.map((n, i) => ({ networkName: n.name, ipAddress: `10.9.${i}.${this.resources.length}` })),
          exitCode: this.options.exitCodes?.[String(inputs.name)] ?? 0,
        };
      }
      default:
        return {};
    }
  }
}

/** Pulumi's marker for a serialized secret value (`{ [SECRET_SIG]: SECRET_VALUE, value }`). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces every secret envelope by its value, recursively. */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIG] === SECRET_VALUE) return unwrapSecrets(record.value);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

function containsSecret(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(containsSecret);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    return record[SECRET_SIG] === SECRET_VALUE || Object.values(record).some(containsSecret);
  }
  return false;
}

/** Installs fresh recording mocks for `stack` and returns them. */
export async function installMocks(stack: string, options?: MockOptions): Promise<RecordingMocks> {
  const mocks = new RecordingMocks(options);
  await pulumi.runtime.setMocks(mocks, "krc", stack, false);
  return mocks;
}

/** Resolves an Output's value, or rejects with its error. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  // Output's own promise: `apply` would never call back for a failed Output.
  return (output as unknown as { promise(): Promise<T> }).promise();
}

/**
 * Runs `body` and collects the unhandled rejections it causes until `settleMs` pass without a new
 * one (or `maxMs` pass without any). A failed resource registration in a Pulumi program surfaces this way: the language host
 * reports it and fails the deployment. The test runner's own handlers are restored afterwards.
 */
export async function collectUnhandledRejections(body: () => Promise<unknown>, settleMs = 500, maxMs = 10_000): Promise<unknown[]> {
  const saved = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  const errors: unknown[] = [];
  let last = Date.now();
  process.on("unhandledRejection", (reason) => {
    errors.push(reason);
    last = Date.now();
  });
  try {
    const started = Date.now();
    await body().catch((error: unknown) => errors.push(error));
    while ((errors.length === 0 || Date.now() - last < settleMs) && Date.now() - started < maxMs) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return errors;
  } finally {
    process.removeAllListeners("unhandledRejection");
    for (const listener of saved) process.on("unhandledRejection", listener);
  }
}

/**
 * A `transformations` entry that records every descendant's options, so tests can see parents,
 * `deleteBeforeReplace`, `protect` and `dependsOn`, which the mock monitor does not receive.
 */
export function recordOptions(into: RecordedOptions[]): pulumi.ResourceTransformation {
  return (args) => {
    into.push({ type: args.type, name: args.name, opts: args.opts as pulumi.CustomResourceOptions });
    return undefined;
  };
}

/** URNs of every resource the mock monitor registered (the type part encodes the parent chain). */
export function registeredUrns(): string[] {
  const monitor = pulumi.runtime.getMonitor() as unknown as { resources?: Map<string, unknown> } | undefined;
  if (!monitor?.resources) throw new Error("no mock monitor: call installMocks first");
  return [...monitor.resources.keys()];
}
