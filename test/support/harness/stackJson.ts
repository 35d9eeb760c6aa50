/**
 * `.live/stack.json`: what a person or a test needs to use a deployed stack (URLs, the CA to trust,
 * the bootstrap admin, the containers, the database roles). Written with mode 0600: it holds secrets.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Engine } from "./engine";
import { copyFileFromContainer } from "./providers/docker/files";
import { unwrapDeep } from "./secrets";
import type { Props } from "./types";

/** File name of Caddy's root CA, copied next to the state. */
export const CA_FILE = "caddy-root.crt";

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
  readonly caCert: string;
  readonly adminEmail: string;
  readonly adminPassword: string;
  readonly containers: readonly string[];
  readonly postgres: {
    readonly host: string;
    readonly port: number;
    readonly database: string;
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

/**
 * Builds stack.json from the stack outputs (docs/architecture.md, "Stack outputs") and copies
 * Caddy's root CA out of the proxy container.
 */
export async function writeStackJson(path: string, stateDir: string, engine: Engine, enveloped: Props): Promise<StackJson> {
  const outputs = unwrapDeep(enveloped) as Props;
  const pg = need(outputs, "postgres", isObject, "an object");
  const rolesIn = isObject(pg["roles"]) ? pg["roles"] : {};
  const roles: Record<string, RoleCredentials> = {};
  for (const [k, v] of Object.entries(rolesIn)) {
    if (!isObject(v) || !isString(v["user"]) || !isString(v["password"])) throw new Error(`harness: stack output postgres.roles.${k} needs user and password`);
    roles[k] = { user: v["user"], password: v["password"] };
  }
  const containers = engine
    .resources()
    .filter((r) => r.type === "docker:index/container:Container")
    .map((r) => String(unwrapDeep(r.outputs["name"])));
  const proxy = need(outputs, "proxyContainer", isString, "a container name");
  const caCert = join(stateDir, CA_FILE);
  const pem = await copyFileFromContainer(proxy, CADDY_ROOT, 60_000);
  writeFileSync(caCert, pem, { mode: 0o644 });
  const json: StackJson = {
    stack: engine.stackName,
    url: need(outputs, "apiUrl", isString, "a URL"),
    httpUrl: need(outputs, "httpUrl", isString, "a URL"),
    kioskUrl: need(outputs, "kioskUrl", isString, "a URL"),
    caCert,
    adminEmail: need(outputs, "adminEmail", isString, "an email"),
    adminPassword: need(outputs, "adminInitialPassword", isString, "a string"),
    containers,
    postgres: {
      host: need(pg, "host", isString, "a host"),
      port: Number(pg["port"]),
      database: need(pg, "database", isString, "a database name"),
      roles,
    },
  };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(json, null, 2) + "\n", { mode: 0o600 });
  chmodSync(path, 0o600);
  return json;
}
