/**
 * `.live/stack.json`: what a person or a test needs to use a deployed stack (URLs, the CA to trust,
 * the bootstrap admin, the containers, the database roles). Written with mode 0600: it holds secrets.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { copyFileFromContainer } from "./providers/docker/files";
import { unwrapDeep } from "./secrets";
import type { Props } from "./types";

/** File name of Caddy's root CA, copied next to the state. */
export const CA_FILE = "caddy-root.crt";
/** File names of the database's CA and the superuser's client certificate, next to the state. */
export const PG_CA_FILE = "postgres-ca.crt";
export const PG_CLIENT_CERT_FILE = "postgres-superuser.crt";
export const PG_CLIENT_KEY_FILE = "postgres-superuser.key";
/** Every file stack.json points to, for `down` to remove. */
export const STACK_FILES = [CA_FILE, PG_CA_FILE, PG_CLIENT_CERT_FILE, PG_CLIENT_KEY_FILE];

/** Where Caddy (XDG_DATA_HOME=/data) keeps its local CA's root certificate. */
const CADDY_ROOT = "/data/caddy/pki/authorities/local/root.crt";

/** Role credentials in stack.json. */
export interface RoleCredentials {
  readonly user: string;
  readonly password: string;
}

/** The content of `.live/stack.json`. */
export interface StackJson {
  readonly stack: string;
  readonly url: string;
  readonly httpUrl: string;
  readonly kioskUrl: string;
  /** Path of Caddy's root CA certificate (PEM). */
  readonly caCert: string;
  readonly adminEmail: string;
  readonly adminPassword: string;
  readonly containers: readonly string[];
  readonly postgres: {
    readonly host: string;
    readonly port: number;
    readonly database: string;
    /** Path of the database CA certificate (PEM), to verify the server. */
    readonly caCert: string;
    /** Paths of the superuser's client certificate and key (PEM). */
    readonly superuserClientCert: string;
    readonly superuserClientKey: string;
    readonly roles: Readonly<Record<string, RoleCredentials>>;
  };
}

function need<T>(outputs: Props, key: string, check: (v: unknown) => v is T, what: string): T {
  const v = outputs[key];
  if (!check(v)) throw new Error(`harness: stack output "${key}" is missing or not ${what}; stack.json needs it`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === "string" && v !== "";
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

function writePrivate(path: string, content: string | Buffer, mode = 0o600): string {
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

/**
 * Builds stack.json from the stack outputs of infra/index.ts (apiUrl, httpUrl, kioskUrl,
 * adminEmail, adminInitialPassword, containers, postgres, postgresCaCertPem, postgresCredentials),
 * copies Caddy's root CA out of the proxy container, and writes the certificates next to the state.
 */
export async function writeStackJson(path: string, stateDir: string, stack: string, enveloped: Props): Promise<StackJson> {
  const outputs = unwrapDeep(enveloped) as Props;
  const pg = need(outputs, "postgres", isObject, "an object");
  const creds = need(outputs, "postgresCredentials", isObject, "an object");
  const passwords = isObject(creds["passwords"]) ? creds["passwords"] : {};
  const rolesIn = isObject(pg["roles"]) ? pg["roles"] : {};
  const roles: Record<string, RoleCredentials> = {};
  for (const [k, v] of Object.entries(rolesIn)) {
    const user = isObject(v) ? v["user"] : undefined;
    const password = passwords[k];
    if (!isString(user) || !isString(password)) throw new Error(`harness: stack outputs postgres.roles.${k}.user and postgresCredentials.passwords.${k} are needed`);
    roles[k] = { user, password };
  }
  const containers = need(outputs, "containers", isStrings, "a list of container names");
  const proxy = containers.find((c) => c.endsWith("-proxy"));
  if (proxy === undefined) throw new Error(`harness: no "<prefix>-proxy" container among the stack output containers (${containers.join(", ")})`);
  const pem = await copyFileFromContainer(proxy, CADDY_ROOT, 60_000);
  const json: StackJson = {
    stack,
    url: need(outputs, "apiUrl", isString, "a URL"),
    httpUrl: need(outputs, "httpUrl", isString, "a URL"),
    kioskUrl: need(outputs, "kioskUrl", isString, "a URL"),
    caCert: writePrivate(join(stateDir, CA_FILE), pem, 0o644),
    adminEmail: need(outputs, "adminEmail", isString, "an email"),
    adminPassword: need(outputs, "adminInitialPassword", isString, "a string"),
    containers,
    postgres: {
      host: need(pg, "host", isString, "a host"),
      port: Number(pg["port"]),
      database: need(pg, "database", isString, "a database name"),
      caCert: writePrivate(join(stateDir, PG_CA_FILE), need(outputs, "postgresCaCertPem", isString, "a PEM"), 0o644),
      superuserClientCert: writePrivate(join(stateDir, PG_CLIENT_CERT_FILE), need(creds, "superuserClientCertPem", isString, "a PEM")),
      superuserClientKey: writePrivate(join(stateDir, PG_CLIENT_KEY_FILE), need(creds, "superuserClientKeyPem", isString, "a PEM")),
      roles,
    },
  };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writePrivate(path, JSON.stringify(json, null, 2) + "\n");
  return json;
}
