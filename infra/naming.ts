/**
 * Names and labels shared by every Docker object of a stack (docs/architecture.md, "Stack config"
 * and "Containers"). Pure: creates no resources.
 */

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
