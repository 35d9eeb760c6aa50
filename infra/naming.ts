/**
 * Names and labels shared by every Docker object of a stack (docs/architecture.md, "Stack config"
 * and "Containers"). Pure: creates no resources.
 */
import { createHash } from "node:crypto";

/** The services of the stack; each container carries one as its `krc.service` label. */
export type Service = "db" | "migrate" | "api" | "proxy";

/** Label keys every Docker object carries; tests and `npm run audit` select by them. */
export const LABEL_PROJECT = "krc.project";
export const LABEL_STACK = "krc.stack";
export const LABEL_SERVICE = "krc.service";
/** On a never-started container that only receives uploads for a service (see SecretVolume). */
export const LABEL_ROLE = "krc.role";
export const ROLE_FILES_WRITER = "files-writer";
/** On a service: the id of its files writer, so new files replace the service. */
export const LABEL_FILES_REVISION = "krc.files-revision";

/** The project name, also the value of `krc.project`. */
export const PROJECT = "krc";

/** Where each container sees its own secret files (a per-container named volume). */
export const SECRETS_DIR = "/run/secrets";

/** Database and role names the program provisions and the API connects with. */
export const POSTGRES = Object.freeze({
  port: 5432,
  database: "krc",
  superuser: "postgres",
  owner: "krc_owner",
  app: "krc_app",
  readonly: "krc_readonly",
});

/** Port the API listens on inside its container; Caddy proxies to it. */
export const API_PORT = 8080;

/** `krc-<stack>`: the prefix of every Docker object's name. */
export function namePrefix(stack: string): string {
  return `${PROJECT}-${stack}`;
}

/** Linux limits an interface name to IFNAMSIZ - 1 = 15 bytes; a longer bridge name fails to create. */
export const MAX_BRIDGE_NAME = 15;

/** Which of the stack's two networks a bridge belongs to. */
export type NetworkRole = "internal" | "external";

/**
 * The Linux bridge name of one of the stack's networks (`com.docker.network.bridge.name`), so the
 * host firewall can drop new connections from the containers to the host by interface
 * (docs/edge.md, "Containers must not reach the host"). `krc-<stack>-in`/`-ex` while that fits in
 * 15 bytes (stack names of up to 8 characters); otherwise `krc` + 9 hex digits of the stack name's
 * SHA-256 + `-in`/`-ex`. The hashed form has no `-` after `krc`, so it never equals a readable one;
 * both start with `krc`, so one iptables rule on `krc+` covers every stack.
 */
export function bridgeName(stack: string, network: NetworkRole): string {
  if (stack === "" || /[\s/:]/.test(stack)) {
    throw new Error(`bridgeName: stack name ${JSON.stringify(stack)} is not usable in an interface name (empty, whitespace, "/" or ":")`);
  }
  const suffix = network === "internal" ? "in" : "ex";
  const readable = `${PROJECT}-${stack}-${suffix}`;
  const name = Buffer.byteLength(readable) <= MAX_BRIDGE_NAME
    ? readable
    : `${PROJECT}${createHash("sha256").update(stack).digest("hex").slice(0, 9)}-${suffix}`;
  if (Buffer.byteLength(name) > MAX_BRIDGE_NAME) {
    throw new Error(`bridgeName: ${JSON.stringify(name)} is longer than ${MAX_BRIDGE_NAME} bytes, the Linux limit for an interface name`);
  }
  return name;
}

/** Docker labels as the docker provider's `{ label, value }` list, sorted for stable diffs. */
export function dockerLabels(stack: string, service?: Service): { label: string; value: string }[] {
  const labels: Record<string, string> = { [LABEL_PROJECT]: PROJECT, [LABEL_STACK]: stack };
  if (service !== undefined) {
    labels[LABEL_SERVICE] = service;
  }
  return Object.keys(labels)
    .sort()
    .map((label) => ({ label, value: labels[label] as string }));
}

/** The path of a secret file inside a container. */
export function secretPath(file: string): string {
  return `${SECRETS_DIR}/${file}`;
}
