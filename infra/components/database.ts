import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { hardenedContainer } from "../baseline";
import { dockerLabels, namePrefix, POSTGRES, SECRETS_DIR, secretPath } from "../naming";
import { healthCheckCommand } from "../pg-hba";
import { FileVolume, type VolumeFile } from "./file-volume";

/** Type token of {@link Database}. */
export const DATABASE_TYPE = "krc:database:Database";

/** uid/gid of `postgres` in the official Debian-based image (Alpine tags use 70). */
export const POSTGRES_UID = 999;

const DATA_DIR = "/var/lib/postgresql/data";

/** Where the database container finds the files this component uploads. */
export const DATABASE_FILES = Object.freeze({
  passwordFile: secretPath("postgres_password"),
  certFile: secretPath("server.crt"),
  keyFile: secretPath("server.key"),
  caFile: secretPath("ca.crt"),
  hbaFile: secretPath("pg_hba.conf"),
});

/** PEM material that turns TLS on (from `DatabaseTls`). */
export interface DatabaseTlsFiles {
  readonly serverCertPem: pulumi.Input<string>;
  readonly serverKeyPem: pulumi.Input<string>;
  readonly caCertPem: pulumi.Input<string>;
}

export interface DatabaseArgs {
  readonly stack: string;
  /** Postgres image reference (validated config `postgresImage`). */
  readonly image: string;
  /** Name of the internal network, the only one the database joins. */
  readonly internalNetwork: pulumi.Input<string>;
  /** Fixed address on the internal network (with a fixed subnet); Docker assigns one otherwise. */
  readonly ipv4Address?: string;
  readonly superuserPassword: pulumi.Input<string>;
  /** Protect the data volume from deletion and keep it when the stack is destroyed. */
  readonly protectData: boolean;
  /** Turns TLS on: the certificate, key and CA are uploaded and named to the server. */
  readonly tls?: DatabaseTlsFiles;
  /** pg_hba.conf content; when given it replaces the one initdb wrote. */
  readonly hbaConf?: pulumi.Input<string>;
  /**
   * Further server settings in exec form (`-c`, `name=value` pairs). A setting this component
   * also derives (TLS files, hba_file) must agree with it or the component throws.
   */
  readonly serverArgs?: readonly string[];
}

/**
 * PostgreSQL on the internal network only: hardened container, data on a named volume that
 * outlives the container, healthy before anything that needs it is created.
 */
export class Database extends pulumi.ComponentResource {
  /** Container name, also its DNS name on the internal network. */
  public readonly containerName: pulumi.Output<string>;
  /** The container's address on the internal network, for the Postgres provider (see below). */
  public readonly internalIp: pulumi.Output<string>;
  /** Port Postgres listens on (not published on the host). */
  public readonly port: number = POSTGRES.port;
  /** The superuser's role name. */
  public readonly superuser: string = POSTGRES.superuser;
  /** The container; resources that need a healthy database depend on it. */
  public readonly container: docker.Container;
  /** Whether clients can (and must be told to) use TLS. */
  public readonly tlsEnabled: boolean;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    const files: VolumeFile[] = [{ name: "postgres_password", content: args.superuserPassword }];
    const settings: [string, string][] = [];
    if (args.tls) {
      files.push(
        { name: "server.crt", content: args.tls.serverCertPem },
        { name: "server.key", content: args.tls.serverKeyPem },
        { name: "ca.crt", content: args.tls.caCertPem },
      );
      // ssl_ca_file: client certificates (pg_hba clientcert) are verified against the stack's CA.
      settings.push(
        ["ssl", "on"],
        ["ssl_cert_file", DATABASE_FILES.certFile],
        ["ssl_key_file", DATABASE_FILES.keyFile],
        ["ssl_ca_file", DATABASE_FILES.caFile],
      );
    }
    if (args.hbaConf !== undefined) {
      files.push({ name: "pg_hba.conf", content: args.hbaConf });
      settings.push(["hba_file", DATABASE_FILES.hbaFile]);
    }
    // Checked before anything is registered.
    const command = ["postgres", ...mergeSettings(name, settings, args.serverArgs ?? [])];
    super(DATABASE_TYPE, name, {}, opts);
    const prefix = namePrefix(args.stack);
    const fixedName = { parent: this, deleteBeforeReplace: true };

    const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });

    // The data outlives containers; in prod it can be neither deleted nor replaced by accident.
    const data = new docker.Volume(
      `${name}-data`,
      { name: `${prefix}-db-data`, labels: dockerLabels(args.stack, "db") },
      { ...fixedName, protect: args.protectData, retainOnDelete: args.protectData },
    );
    const secrets = new FileVolume(
      `${name}-secrets`,
      {
        stack: args.stack,
        service: "db",
        volumeName: `${prefix}-db-secrets`,
        target: SECRETS_DIR,
        image: image.imageId,
        files,
        uid: POSTGRES_UID,
        gid: POSTGRES_UID,
        secret: true,
      },
      { parent: this },
    );

    this.tlsEnabled = args.tls !== undefined;

    this.container = new docker.Container(
      `${name}-container`,
      {
        ...hardenedContainer({
          stack: args.stack,
          service: "db",
          name: `${prefix}-db`,
          image: image.imageId,
          user: `${POSTGRES_UID}:${POSTGRES_UID}`,
          memoryMb: 512,
          cpuShares: 1024,
          // Postgres writes only its socket and lock file (/run/postgresql, owned by postgres
          // because a tmpfs keeps the image directory's mode but takes uid/gid) and temp files.
          tmpfs: {
            "/run/postgresql": { sizeMb: 1, uid: POSTGRES_UID, gid: POSTGRES_UID },
            "/tmp": { sizeMb: 64 },
          },
          lifecycle: {
            kind: "service",
            // TCP, not the socket: during first initialisation the entrypoint runs a temporary
            // server on the socket only, which must not count as ready.
            health: {
              command: healthCheckCommand(POSTGRES.port),
              intervalSeconds: 5,
              timeoutSeconds: 5,
              retries: 12,
              startPeriodSeconds: 60,
            },
            waitTimeoutSeconds: 300,
          },
          // Fast shutdown (the image's SIGINT) checkpoints; a kill would force crash recovery.
          stopGraceSeconds: 60,
          filesRevision: secrets.revision,
        }),
        command,
        envs: [
          `POSTGRES_PASSWORD_FILE=${DATABASE_FILES.passwordFile}`,
          // Password authentication from the first start: no trust entry for the socket either.
          "POSTGRES_INITDB_ARGS=--auth-local=scram-sha-256 --auth-host=scram-sha-256",
        ],
        // The internal network only, and no published port. No networkMode: with networksAdvanced
        // the provider detaches the container from Docker's default bridge (which has egress)
        // before it starts and connects it here; a networkMode naming this network would attach it
        // at create time and Docker would then ignore the fixed address on connect.
        networksAdvanced: [{ name: args.internalNetwork, ...(args.ipv4Address === undefined ? {} : { ipv4Address: args.ipv4Address }) }],
        mounts: [
          { type: "volume", source: data.name, target: DATA_DIR },
          secrets.mount(),
        ],
      },
      fixedName,
    );

    this.containerName = this.container.name;
    // The Postgres provider connects to this address. The internal bridge is routed only inside
    // the Docker host's own network namespace (so only the host, where Pulumi and the provider
    // run, reaches it), nothing is published, and the internal network has no egress.
    this.internalIp = pulumi
      .all([this.container.networkDatas, pulumi.output(args.internalNetwork)])
      .apply(([networks, internalName]) => {
        const address = networks.find((n) => n.networkName === internalName)?.ipAddress;
        if (!address) {
          throw new Error(`Database ${name}: container has no address on network ${internalName}`);
        }
        return address;
      });

    this.registerOutputs({ containerName: this.containerName, internalIp: this.internalIp });
  }
}

/** One `-c name=value` per setting: the derived ones first, then the rest of `serverArgs` in order. */
function mergeSettings(component: string, derived: [string, string][], serverArgs: readonly string[]): string[] {
  const merged = new Map(derived);
  for (let i = 0; i < serverArgs.length; i += 2) {
    const flag = serverArgs[i];
    const match = /^([a-z_.]+)=(.*)$/.exec(serverArgs[i + 1] ?? "");
    if (flag !== "-c" || !match) {
      throw new Error(`Database ${component}: serverArgs must be "-c", "name=value" pairs; got ${JSON.stringify(serverArgs.slice(i, i + 2))}`);
    }
    const [, key, value] = match as unknown as [string, string, string];
    const existing = merged.get(key);
    if (existing !== undefined && existing !== value) {
      throw new Error(`Database ${component}: serverArgs sets ${key}=${value}, but the component derives ${key}=${existing}`);
    }
    merged.set(key, value);
  }
  return [...merged].flatMap(([key, value]) => ["-c", `${key}=${value}`]);
}
