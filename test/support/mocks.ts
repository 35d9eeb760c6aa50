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
  /** Inputs with secrets unwrapped (the mock monitor deserializes them plainly). */
  readonly inputs: Record<string, unknown>;
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
    const inputs = args.inputs as Record<string, unknown>;
    this.resources.push({ type: args.type, name: args.name, custom: args.custom ?? true, inputs });
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

/** Installs fresh recording mocks for `stack` and returns them. */
export async function installMocks(stack: string, options?: MockOptions): Promise<RecordingMocks> {
  const mocks = new RecordingMocks(options);
  await pulumi.runtime.setMocks(mocks, "krc", stack, false);
  return mocks;
}

/** Resolves an Output's value (unknown values, which mocks never produce, reject). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
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
