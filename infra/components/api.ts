import { createHash } from "node:crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { hardenedContainer } from "../baseline";
import { API_PORT, namePrefix, SECRETS_DIR, secretPath, type Service } from "../naming";
import { FileVolume, type VolumeFile } from "./file-volume";

/** Type token of {@link Api}. */
export const API_TYPE = "krc:api:Api";

/** uid/gid of `node` in the official node images. */
export const NODE_UID = 1000;

/** Where the API's Dockerfile puts the bundle (app/build.ts). */
const APP_DIR = "/app";

/** The API image's build context, as written by `bundleApi()` (app/build.ts). */
export interface ApiBundle {
  readonly contextDir: string;
  readonly contentHash: string;
}

/** How the API and the migrations reach Postgres. */
export interface ApiDatabase {
  /** DNS name of the database on the internal network. */
  readonly host: pulumi.Input<string>;
  readonly port: number;
  readonly name: string;
  /** Role that owns the schema and runs the migrations. */
  readonly ownerUser: pulumi.Input<string>;
  /** Runtime role of the API. */
  readonly appUser: pulumi.Input<string>;
  /** CA that signed the server certificate; when given, clients verify the server (verify-full). */
  readonly caCertPem?: pulumi.Input<string>;
}

/** Secret values the API and the migrations receive as files. */
export interface ApiSecrets {
  readonly dbOwnerPassword: pulumi.Input<string>;
  readonly dbAppPassword: pulumi.Input<string>;
  readonly jwtSigningKey: pulumi.Input<string>;
  readonly secretKey: pulumi.Input<string>;
  readonly zapierHmacSecret: pulumi.Input<string>;
  readonly adminInitialPassword: pulumi.Input<string>;
}

export interface ApiArgs {
  readonly stack: string;
  readonly bundle: pulumi.Input<ApiBundle>;
  /** Base image of the API image (validated config `nodeImage`). */
  readonly baseImage: string;
  readonly internalNetwork: pulumi.Input<string>;
  readonly externalNetwork: pulumi.Input<string>;
  readonly database: ApiDatabase;
  readonly secrets: ApiSecrets;
  readonly adminEmail: string;
  readonly apiHost: string;
  readonly kioskHost: string;
  readonly corsOrigins: readonly string[];
  /** https receivers of CRM events; delivered as a file, since a Zapier hook URL holds a token. */
  readonly zapierOutboundUrls: pulumi.Input<readonly string[]>;
  readonly logLevel: string;
  /** Resources the migrations need first (the database roles). */
  readonly after?: pulumi.Input<pulumi.Resource>[];
}

const PLATFORM = "linux/amd64";

/** Whether any outbound receiver is configured (the config is a plain value, known up front). */
function hasOutboundUrls(urls: pulumi.Input<readonly string[]>): boolean {
  return Array.isArray(urls) && urls.length > 0;
}

/**
 * The image tag: a digest of everything that shapes the image, so a changed bundle or base image
 * gives a new tag and replaces the containers (without a registry there is no repo digest).
 */
export function apiImageTag(contentHash: string, baseImage: string): string {
  return createHash("sha256").update(`${contentHash}\n${baseImage}\n${PLATFORM}`).digest("hex").slice(0, 32);
}

/**
 * The API: its image, a one-shot migration container (owner role) that must exit 0, then the
 * API container (app role) on both networks, healthy before the proxy is created.
 */
export class Api extends pulumi.ComponentResource {
  /** Built image name, `krc-api:<content tag>`. */
  public readonly imageName: pulumi.Output<string>;
  /** Name of the migration container (kept after it exits, for `docker logs`). */
  public readonly migrateContainerName: pulumi.Output<string>;
  /** Name of the API container, also its DNS name on both networks. */
  public readonly containerName: pulumi.Output<string>;
  /** Port the API listens on inside its container. */
  public readonly port: number = API_PORT;
  /** The API container; the proxy depends on it. */
  public readonly container: docker.Container;

  constructor(name: string, args: ApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super(API_TYPE, name, {}, opts);
    const prefix = namePrefix(args.stack);
    const fixedName = { parent: this, deleteBeforeReplace: true };
    const bundle = pulumi.output(args.bundle);

    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: bundle.apply((b) => `krc-api:${apiImageTag(b.contentHash, args.baseImage)}`),
        skipPush: true,
        build: {
          context: bundle.apply((b) => b.contextDir),
          args: { BASE_IMAGE: args.baseImage },
          platform: PLATFORM,
          // The classic builder: BuildKit through this provider needs buildx, which an engine
          // from Debian's docker.io does not have.
          builderVersion: "BuilderV1",
        },
      },
      { parent: this },
    );
    this.imageName = image.imageName;

    const tls = args.database.caCertPem !== undefined;
    const caFile: VolumeFile[] = tls ? [{ name: "db_ca.crt", content: args.database.caCertPem as pulumi.Input<string> }] : [];
    const dbEnv = (user: pulumi.Input<string>, passwordFile: string): pulumi.Input<string>[] => [
      pulumi.interpolate`DATABASE_HOST=${args.database.host}`,
      `DATABASE_PORT=${args.database.port}`,
      `DATABASE_NAME=${args.database.name}`,
      pulumi.interpolate`DATABASE_USER=${user}`,
      `DATABASE_PASSWORD_FILE=${secretPath(passwordFile)}`,
      `DATABASE_SSLMODE=${tls ? "verify-full" : "disable"}`,
      ...(tls ? [`DATABASE_CA_FILE=${secretPath("db_ca.crt")}`] : []),
    ];
    const secretsFor = (service: Service, childName: string, files: VolumeFile[]) =>
      new FileVolume(
        childName,
        {
          stack: args.stack,
          service,
          volumeName: `${prefix}-${service}-secrets`,
          target: SECRETS_DIR,
          image: image.imageName,
          files,
          uid: NODE_UID,
          gid: NODE_UID,
          secret: true,
        },
        { parent: this },
      );

    // Migrations: owner role, internal network only, no healthcheck (a job, not a service).
    const migrateSecrets = secretsFor("migrate", `${name}-migrate-secrets`, [
      { name: "db_owner_password", content: args.secrets.dbOwnerPassword },
      { name: "admin_initial_password", content: args.secrets.adminInitialPassword },
      ...caFile,
    ]);
    const migrate = new docker.Container(
      `${name}-migrate`,
      {
        ...hardenedContainer({
          stack: args.stack,
          service: "migrate",
          name: `${prefix}-migrate`,
          image: image.imageName,
          user: `${NODE_UID}:${NODE_UID}`,
          memoryMb: 256,
          cpuShares: 512,
          tmpfs: { "/tmp": { sizeMb: 16 } },
          lifecycle: { kind: "oneShot" },
          filesRevision: migrateSecrets.revision,
        }),
        command: ["node", `${APP_DIR}/migrate.js`],
        envs: [
          "NODE_ENV=production",
          ...dbEnv(args.database.ownerUser, "db_owner_password"),
          pulumi.interpolate`APP_ROLE=${args.database.appUser}`,
          `BOOTSTRAP_ADMIN_EMAIL=${args.adminEmail}`,
          `BOOTSTRAP_ADMIN_PASSWORD_FILE=${secretPath("admin_initial_password")}`,
          `LOG_LEVEL=${args.logLevel}`,
        ],
        networksAdvanced: [{ name: args.internalNetwork }],
        mounts: [migrateSecrets.mount()],
      },
      { ...fixedName, dependsOn: args.after ?? [] },
    );
    this.migrateContainerName = migrate.name;

    // The API waits for the migrations' exit code; anything but 0 fails the deployment here.
    const migrated = pulumi.all([migrate.exitCode, migrate.name]).apply(([code, containerName]) => {
      if (code !== 0) {
        throw new Error(`migrations failed: container ${containerName} exited with code ${code}; see \`docker logs ${containerName}\``);
      }
      return [migrate];
    });

    // The list is known when the program runs (stack config), so whether the file exists is too.
    const outboundUrls = pulumi.output(args.zapierOutboundUrls);
    const urlsFile: VolumeFile[] = [
      { name: "zapier_outbound_urls", content: pulumi.secret(outboundUrls.apply((urls) => urls.join("\n"))) },
    ];
    const apiSecrets = secretsFor("api", `${name}-secrets`, [
      { name: "db_app_password", content: args.secrets.dbAppPassword },
      { name: "jwt_signing_key", content: args.secrets.jwtSigningKey },
      { name: "secret_key", content: args.secrets.secretKey },
      { name: "zapier_hmac_secret", content: args.secrets.zapierHmacSecret },
      ...(hasOutboundUrls(args.zapierOutboundUrls) ? urlsFile : []),
      ...caFile,
    ]);
    this.container = new docker.Container(
      `${name}-container`,
      {
        ...hardenedContainer({
          stack: args.stack,
          service: "api",
          name: `${prefix}-api`,
          image: image.imageName,
          user: `${NODE_UID}:${NODE_UID}`,
          memoryMb: 256,
          cpuShares: 512,
          tmpfs: { "/tmp": { sizeMb: 16 } },
          lifecycle: {
            kind: "service",
            health: {
              command: ["node", `${APP_DIR}/healthcheck.js`],
              intervalSeconds: 10,
              timeoutSeconds: 5,
              retries: 3,
              startPeriodSeconds: 20,
            },
            waitTimeoutSeconds: 120,
          },
          // server.ts drains in-flight requests on SIGTERM.
          stopGraceSeconds: 15,
          filesRevision: apiSecrets.revision,
        }),
        command: ["node", `${APP_DIR}/server.js`],
        envs: [
          "NODE_ENV=production",
          `PORT=${API_PORT}`,
          ...dbEnv(args.database.appUser, "db_app_password"),
          `JWT_SIGNING_KEY_FILE=${secretPath("jwt_signing_key")}`,
          `SECRET_KEY_FILE=${secretPath("secret_key")}`,
          `ZAPIER_HMAC_SECRET_FILE=${secretPath("zapier_hmac_secret")}`,
          ...(hasOutboundUrls(args.zapierOutboundUrls) ? [`ZAPIER_OUTBOUND_URLS_FILE=${secretPath("zapier_outbound_urls")}`] : []),
          `JWT_ISSUER=https://${args.apiHost}`,
          "JWT_AUDIENCE=krc-api",
          `ALLOWED_HOSTS=${args.apiHost},${args.kioskHost}`,
          `CORS_ORIGINS=${args.corsOrigins.join(",")}`,
          // Exactly one proxy (Caddy) sits in front; X-Forwarded-For beyond it is client-controlled.
          "TRUST_PROXY_HOPS=1",
          `LOG_LEVEL=${args.logLevel}`,
        ],
        // The default route (egress, later to Zapier) comes from the external network: an internal
        // network provides none. The internal one only reaches the database.
        networksAdvanced: [{ name: args.externalNetwork }, { name: args.internalNetwork }],
        mounts: [apiSecrets.mount()],
      },
      { ...fixedName, dependsOn: migrated },
    );
    this.containerName = this.container.name;

    this.registerOutputs({
      imageName: this.imageName,
      migrateContainerName: this.migrateContainerName,
      containerName: this.containerName,
    });
  }
}
