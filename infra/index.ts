/**
 * Composition root: validate the config, build the stack in the order docs/architecture.md gives
 * (db healthy → roles → migrate exits 0 → api healthy → proxy), export the stack outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { bundleApi } from "../app/build";
import { loadConfig } from "./config";
import { planServerSettings } from "./grants";
import { API_PORT, namePrefix, POSTGRES } from "./naming";
import { renderPgHba } from "./pg-hba";
import { Api } from "./components/api";
import { Database, DATABASE_FILES } from "./components/database";
import { DatabaseTls } from "./components/database-tls";
import { Dns } from "./components/dns";
import { internalAddresses, Networks } from "./components/networks";
import { ReverseProxy } from "./components/proxy";
import { DatabaseRoles } from "./components/roles";
import { Secrets } from "./components/secrets";

// Throws with every config problem before any resource is registered.
const config = loadConfig();
const prefix = namePrefix(config.stack);
const dbHost = `${prefix}-db`;
const apiHost = `${prefix}-api`;

const networks = new Networks("networks", { stack: config.stack, internalSubnet: config.internalSubnet });

const secrets = new Secrets("secrets", {
  versions: {
    postgres_password: config.postgresSuperuserPasswordVersion,
    db_owner_password: config.dbOwnerPasswordVersion,
    db_app_password: config.dbAppPasswordVersion,
    db_readonly_password: config.dbReadonlyPasswordVersion,
    jwt_signing_key: config.jwtSigningKeyVersion,
    secret_key: config.secretKeyVersion,
    zapier_hmac_secret: config.zapierHmacSecretVersion,
    admin_initial_password: config.adminInitialPasswordVersion,
  },
});
const { values: secret } = secrets;

// The database's private CA: the server certificate names the container (its DNS name for the
// API and the migrations), the client certificate is the provider's superuser login.
const dbTls = new DatabaseTls("database-tls", { serverDnsNames: [dbHost], clientRole: POSTGRES.superuser });

const hbaConf = pulumi.all([networks.internalSubnet, networks.internalGateway]).apply(([subnet, gateway]) =>
  renderPgHba({
    database: POSTGRES.database,
    roles: [POSTGRES.owner, POSTGRES.app, POSTGRES.readonly],
    superuser: POSTGRES.superuser,
    subnet,
    providerAddress: gateway,
  }),
);

const database = new Database("database", {
  stack: config.stack,
  image: config.postgresImage,
  internalNetwork: networks.internalName,
  ipv4Address: config.internalSubnet === undefined ? undefined : internalAddresses(config.internalSubnet).database,
  superuserPassword: secret.postgres_password,
  protectData: config.protectData,
  tls: { serverCertPem: dbTls.serverCertPem, serverKeyPem: dbTls.serverKeyPem, caCertPem: dbTls.caCertPem },
  hbaConf,
  serverArgs: planServerSettings({
    certFile: DATABASE_FILES.certFile,
    keyFile: DATABASE_FILES.keyFile,
    caFile: DATABASE_FILES.caFile,
    hbaFile: DATABASE_FILES.hbaFile,
  }),
});

// Where the Postgres provider connects: the container's internal address when Pulumi runs on the
// Docker host, or a tunnel's local end (ssh -L <port>:<the database's fixed address>:5432) from
// anywhere else; either way the server sees the host's bridge address, which pg_hba allows.
const providerHost = pulumi.output(config.postgresProviderEndpoint?.host ?? database.internalIp);
const providerPort = config.postgresProviderEndpoint?.port ?? database.port;

const roles = new DatabaseRoles("roles", {
  connection: {
    host: providerHost,
    port: providerPort,
    superuser: database.superuser,
    superuserPassword: secret.postgres_password,
    caCertPem: dbTls.caCertPem,
    clientCertPem: dbTls.clientCertPem,
    clientKeyPem: dbTls.clientKeyPem,
  },
  passwords: { owner: secret.db_owner_password, app: secret.db_app_password, readonly: secret.db_readonly_password },
  database: database.container,
  protectData: config.protectData,
});

const api = new Api("api", {
  stack: config.stack,
  bundle: bundleApi(),
  baseImage: config.nodeImage,
  internalNetwork: networks.internalName,
  externalNetwork: networks.externalName,
  database: {
    host: dbHost,
    port: database.port,
    name: POSTGRES.database,
    ownerUser: roles.ownerUser,
    appUser: roles.appUser,
    caCertPem: dbTls.caCertPem,
  },
  secrets: {
    dbOwnerPassword: secret.db_owner_password,
    dbAppPassword: secret.db_app_password,
    jwtSigningKey: secret.jwt_signing_key,
    secretKey: secret.secret_key,
    zapierHmacSecret: secret.zapier_hmac_secret,
    adminInitialPassword: secret.admin_initial_password,
  },
  adminEmail: config.adminEmail,
  apiHost: config.apiHost,
  kioskHost: config.kioskHost,
  corsOrigins: config.corsOrigins,
  zapierOutboundUrls: config.zapierOutboundUrls,
  logLevel: config.logLevel,
  after: [roles],
});

const proxy = new ReverseProxy("proxy", {
  stack: config.stack,
  image: config.caddyImage,
  externalNetwork: networks.externalName,
  caddyfile: {
    apiHost: config.apiHost,
    kioskHost: config.kioskHost,
    tls: config.tls,
    acmeEmail: config.acmeEmail,
    acmeCa: config.acmeCa,
    hstsPreload: config.hstsPreload,
    publicHttpsPort: config.httpsPort,
    upstream: `${apiHost}:${API_PORT}`,
    maxBodyBytes: config.maxBodyBytes,
  },
  bindAddress: config.bindAddress,
  httpPort: config.httpPort,
  httpsPort: config.httpsPort,
  after: [api.container],
});

// DNS only when a zone is configured (config guarantees publicIpv4 then).
const dns =
  config.cloudflareZoneId === undefined || config.publicIpv4 === undefined
    ? undefined
    : new Dns("dns", {
        zoneId: config.cloudflareZoneId,
        hostnames: [config.apiHost, config.kioskHost],
        publicIpv4: config.publicIpv4,
        publicIpv6: config.publicIpv6,
        tls: config.tls,
        acmeCa: config.acmeCa,
        caaIssuer: config.caaIssuer,
        iodefEmail: config.acmeEmail ?? config.adminEmail,
        proxied: config.cloudflareProxied,
        manageZoneSettings: config.cloudflareZoneSettings,
      });

const withPort = (scheme: "http" | "https", host: string, port: number): string =>
  `${scheme}://${host}${port === (scheme === "https" ? 443 : 80) ? "" : `:${port}`}`;

/** HTTPS base URL of the API host. */
export const apiUrl = withPort("https", config.apiHost, config.httpsPort);
/** HTTPS base URL of the kiosk host. */
export const kioskUrl = withPort("https", config.kioskHost, config.httpsPort);
/** Plain-HTTP base URL of the API host (answers only with redirects). */
export const httpUrl = withPort("http", config.apiHost, config.httpPort);
/** The bootstrap admin's email. */
export const adminEmail = config.adminEmail;
/** The bootstrap admin's generated initial password (secret; must be changed at first login). */
export const adminInitialPassword = pulumi.secret(secret.admin_initial_password);
/** Names of every container of the stack, in deployment order. */
export const containers = pulumi.all([database.containerName, api.migrateContainerName, api.containerName, proxy.containerName]);
/** Linux bridges of the stack's networks on the host, for the firewall rules in docs/edge.md. */
export const hostBridges = { internal: networks.internalBridge, external: networks.externalBridge };
/** Volume holding Caddy's state (its local CA's root certificate in dev). */
export const caddyDataVolume = proxy.dataVolumeName;
/** Where the Postgres provider reaches the database, and the role names (no secrets). */
export const postgres = {
  host: providerHost,
  port: providerPort,
  database: roles.databaseName,
  roles: {
    superuser: { user: database.superuser },
    owner: { user: roles.ownerUser },
    app: { user: roles.appUser },
    readonly: { user: roles.readonlyUser },
  },
};
/** The stack's database CA certificate (public), to verify the server with. */
export const postgresCaCertPem = dbTls.caCertPem;
/** Every role's password and the superuser's client certificate (secret: for the local harness and ops). */
export const postgresCredentials = pulumi.secret({
  passwords: {
    superuser: secret.postgres_password,
    owner: secret.db_owner_password,
    app: secret.db_app_password,
    readonly: secret.db_readonly_password,
  },
  superuserClientCertPem: dbTls.clientCertPem,
  superuserClientKeyPem: dbTls.clientKeyPem,
});
/** The Zapier HMAC secret (secret): ops paste it into the Zap that signs inbound requests. */
export const zapierHmacSecret = pulumi.secret(secret.zapier_hmac_secret);
/** Cloudflare ids of the DNS records (empty without a zone). */
export const dnsRecordIds = dns ? dns.recordIds : pulumi.output<string[]>([]);
