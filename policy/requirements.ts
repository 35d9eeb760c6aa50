/**
 * The hardening requirements krc holds every container to, as plain data and pure predicates.
 * Both the policy pack (over the inputs the program declares) and the audit (over what the Docker
 * engine reports) check against these, so preview time and run time enforce the same rules.
 */

/** Services of the stack, the values of the `krc.service` label. */
export const SERVICES = ["db", "migrate", "api", "proxy"] as const;
/** One of {@link SERVICES}. */
export type Service = (typeof SERVICES)[number];

/** What one service is allowed beyond the common baseline. */
export interface ServiceProfile {
  /** Capabilities it may add back after dropping ALL (without the CAP_ prefix). */
  readonly capAdd: readonly string[];
  /** May run as uid 0 (see the exception `proxy-runs-as-root`). */
  readonly mayRunAsRoot: boolean;
  /** Container ports it may publish on the host, as `<port>/<protocol>`. */
  readonly publishes: readonly string[];
  /** Runs once and exits (no healthcheck, no restart). */
  readonly oneShot: boolean;
  /**
   * Which networks it belongs on: `internal` only (no egress), `both` (reaches the database and the
   * outside), or `external` only (must share no network with the database).
   */
  readonly networks: "internal" | "both" | "external";
}

/** Per-service allowances; everything not listed here is forbidden. */
export const SERVICE_PROFILES: Readonly<Record<Service, ServiceProfile>> = Object.freeze({
  db: { capAdd: [], mayRunAsRoot: false, publishes: [], oneShot: false, networks: "internal" },
  migrate: { capAdd: [], mayRunAsRoot: false, publishes: [], oneShot: true, networks: "internal" },
  api: { capAdd: [], mayRunAsRoot: false, publishes: [], oneShot: false, networks: "both" },
  // Caddy binds 80/443 in the container; HTTP/3 is off (docs/edge.md), so no 443/udp.
  proxy: {
    capAdd: ["NET_BIND_SERVICE"],
    mayRunAsRoot: true,
    publishes: ["80/tcp", "443/tcp"],
    oneShot: false,
    networks: "external",
  },
});

/** Label keys every Docker object of the stack carries (docs/architecture.md). */
export const LABELS = { project: "krc.project", stack: "krc.stack", service: "krc.service", role: "krc.role" } as const;

/**
 * `krc.role` of the never-started containers that receive a service's files through the docker
 * provider's uploads onto a volume (infra/components/file-volume.ts). They need a writable root
 * (the engine refuses uploads into a read-only one) and, never running, have no runtime to limit.
 */
export const ROLE_FILES_WRITER = "files-writer";

/** Returns the service profile for a label value, or undefined for an unknown service. */
export function profileOf(service: string | undefined): ServiceProfile | undefined {
  return (SERVICES as readonly string[]).includes(service ?? "") ? SERVICE_PROFILES[service as Service] : undefined;
}

/** Docker reports capabilities with or without the CAP_ prefix depending on version. */
export function normalizeCapability(cap: string): string {
  return cap.toUpperCase().replace(/^CAP_/, "");
}

/** True when a `user` value (`name`, `uid`, `uid:gid`, empty) means root. */
export function isRootUser(user: string | undefined): boolean {
  const name = (user ?? "").split(":")[0]?.trim() ?? "";
  return name === "" || name === "0" || name === "root";
}

/** True when a security option turns on no-new-privileges (all spellings Docker accepts). */
export function isNoNewPrivileges(opt: string): boolean {
  return /^no-new-privileges(?:[:=]true)?$/.test(opt.trim());
}

/** True when a security option disables seccomp. */
export function disablesSeccomp(opt: string): boolean {
  return /^seccomp[:=]unconfined$/.test(opt.trim());
}

/** True when an image reference is pinned by digest. */
export function isPinnedByDigest(image: string): boolean {
  return /@sha256:[0-9a-f]{64}$/.test(image);
}

// Names that carry a credential. `*_FILE` variables carry a path and are the allowed way.
const SECRET_NAME = /(^|_)(PASSWORD|PASSWD|PASS|SECRET|TOKEN|PASSPHRASE|KEY|PRIVATE_KEY|API_KEY|CREDENTIALS?|HMAC)(_|$)/;

/** True when an environment variable's name says it holds a secret value (not a `*_FILE` path). */
export function isSecretEnvName(name: string): boolean {
  const upper = name.toUpperCase();
  return !upper.endsWith("_FILE") && SECRET_NAME.test(upper);
}

/**
 * Why a value looks like a secret, or undefined. Catches what the stack's generators produce
 * (32 random bytes as hex or base64), PEM keys, JWTs and URLs with embedded passwords.
 */
export function secretValueReason(value: string): string | undefined {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) return "a PEM private key";
  if (/\beyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/.test(value)) return "a JSON Web Token";
  if (/[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i.test(value)) return "a URL with an embedded password";
  for (const token of value.split(/[\s,;:=]+/)) {
    if (/^[0-9a-f]{32,}$/i.test(token)) return "a long hex string (random key material)";
    if (token.length >= 32 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(token) && charClasses(token) >= 3) {
      return "a long base64 string (random key material)";
    }
  }
  return undefined;
}

function charClasses(token: string): number {
  return [/[a-z]/, /[A-Z]/, /[0-9]/, /[+/_=-]/].filter((re) => re.test(token)).length;
}

/** One reason per environment entry (`NAME=value`) that carries or looks like a secret. */
export function secretEnvFindings(envs: readonly string[]): string[] {
  const findings: string[] = [];
  for (const entry of envs) {
    const eq = entry.indexOf("=");
    const name = eq === -1 ? entry : entry.slice(0, eq);
    const value = eq === -1 ? "" : entry.slice(eq + 1);
    if (isSecretEnvName(name)) {
      findings.push(`${name} is named like a secret; pass a path in ${name}_FILE instead`);
      continue;
    }
    const reason = secretValueReason(value);
    // The value itself is never repeated: the finding may end up in CI logs.
    if (reason) findings.push(`${name} holds what looks like ${reason}`);
  }
  return findings;
}
