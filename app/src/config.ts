import { readFileSync } from "node:fs";
import { z } from "zod";

/** A configuration problem that must stop the process; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Everything the API needs at run time, validated once at start and frozen. */
export interface AppConfig {
  readonly port: number;
  readonly database: DatabaseConfig;
  readonly jwt: { readonly signingKey: Uint8Array; readonly issuer: string; readonly audience: string; readonly ttlSeconds: number };
  /** Server-side key for keyed hashes of identifiers (login throttle keys). */
  readonly secretKey: Uint8Array;
  readonly zapier: { readonly hmacSecret: Uint8Array; readonly outboundUrls: readonly string[] };
  /** Outbound delivery tuning (defaults suit production; tests shorten them). */
  readonly outbox: { readonly pollMs: number; readonly leaseSeconds: number; readonly maxAttempts: number };
  readonly allowedHosts: readonly string[];
  readonly corsOrigins: readonly string[];
  readonly trustProxyHops: number;
  readonly logLevel: string;
}

export interface DatabaseConfig {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly sslmode: "disable" | "verify-full";
  /** PEM of the CA that signs the server certificate (verify-full only). */
  readonly ca?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the secret file named by `variable` (a `*_FILE` env var). A missing variable, a missing
 * file or an empty file throws a ConfigError naming the variable and the path, never the content.
 */
export function readSecretFile(env: Env, variable: string): string {
  const path = env[variable];
  if (path === undefined || path.trim() === "") {
    throw new ConfigError(`${variable} is not set: it must be the path of a file holding the secret`);
  }
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError(`${variable} points to ${path}, which cannot be read (${code})`);
  }
  // A trailing newline is an artefact of how files are written, not part of the secret.
  const value = content.replace(/\r?\n$/, "");
  if (value.trim() === "") {
    throw new ConfigError(`${variable} points to ${path}, which is empty`);
  }
  return value;
}

const hostname = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, "must be a lowercase hostname");

const origin = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value;
  } catch {
    return false;
  }
}, "must be an origin such as https://crm.example.com (scheme, host, optional port; no path, no wildcard)");

/** https anywhere; plain http only to a loopback receiver, whose traffic never leaves the host. */
const webhookUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    if (url.protocol === "https:") return true;
    return url.protocol === "http:" && ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname);
  } catch {
    return false;
  }
}, "must be an https URL (http only to 127.0.0.1, [::1] or localhost)");

function list(value: string | undefined): string[] {
  return (value ?? "").split(",").map((item) => item.trim()).filter((item) => item !== "");
}

function field<T>(variable: string, schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` (item ${issue.path.join(".")})` : "";
    throw new ConfigError(`${variable}${where} ${issue?.message ?? "is invalid"}; got ${JSON.stringify(value)}`);
  }
  return result.data;
}

const port = z.coerce.number().int().min(1).max(65535);

/** Reads the database connection settings (the API's app role and migrate's owner role alike). */
export function loadDatabaseConfig(env: Env): DatabaseConfig {
  const sslmode = field("DATABASE_SSLMODE", z.enum(["disable", "verify-full"], "must be disable or verify-full"), env.DATABASE_SSLMODE ?? "disable");
  const base = {
    host: field("DATABASE_HOST", z.string().min(1, "must be set"), env.DATABASE_HOST ?? ""),
    port: field("DATABASE_PORT", port, env.DATABASE_PORT ?? "5432"),
    database: field("DATABASE_NAME", z.string().min(1, "must be set"), env.DATABASE_NAME ?? ""),
    user: field("DATABASE_USER", z.string().min(1, "must be set"), env.DATABASE_USER ?? ""),
    password: readSecretFile(env, "DATABASE_PASSWORD_FILE"),
    sslmode,
  };
  return sslmode === "verify-full" ? { ...base, ca: readSecretFile(env, "DATABASE_CA_FILE") } : base;
}

/**
 * Receivers of outbound events: ZAPIER_OUTBOUND_URLS (comma-separated), or ZAPIER_OUTBOUND_URLS_FILE
 * (one per line) as the stack delivers them, since a Zapier hook URL carries its own token. Errors
 * about the file never repeat its content.
 */
function outboundUrls(env: Env): string[] {
  if (env.ZAPIER_OUTBOUND_URLS_FILE === undefined) {
    return field("ZAPIER_OUTBOUND_URLS", z.array(webhookUrl), list(env.ZAPIER_OUTBOUND_URLS));
  }
  if (env.ZAPIER_OUTBOUND_URLS !== undefined) {
    throw new ConfigError("ZAPIER_OUTBOUND_URLS and ZAPIER_OUTBOUND_URLS_FILE are both set; set one of them");
  }
  const urls = readSecretFile(env, "ZAPIER_OUTBOUND_URLS_FILE")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
  const bad = urls.findIndex((url) => !webhookUrl.safeParse(url).success);
  if (bad !== -1) {
    throw new ConfigError(`ZAPIER_OUTBOUND_URLS_FILE (line ${bad + 1}) must be an https URL (http only to 127.0.0.1, [::1] or localhost); content withheld`);
  }
  return urls;
}

function key(env: Env, variable: string, minBytes: number): Uint8Array {
  const bytes = new TextEncoder().encode(readSecretFile(env, variable));
  if (bytes.length < minBytes) {
    throw new ConfigError(`${variable} holds ${bytes.length} bytes; at least ${minBytes} are required`);
  }
  return bytes;
}

/** Builds the API's configuration from the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env): AppConfig {
  const allowedHosts = field("ALLOWED_HOSTS", z.array(hostname).min(1, "must list at least one hostname"), list(env.ALLOWED_HOSTS));
  const corsOrigins = field("CORS_ORIGINS", z.array(origin), list(env.CORS_ORIGINS));
  return Object.freeze({
    port: field("PORT", port, env.PORT ?? "8080"),
    database: Object.freeze(loadDatabaseConfig(env)),
    jwt: Object.freeze({
      signingKey: key(env, "JWT_SIGNING_KEY_FILE", 32),
      issuer: field("JWT_ISSUER", z.string().min(1, "must be set"), env.JWT_ISSUER ?? ""),
      audience: field("JWT_AUDIENCE", z.string().min(1, "must be set"), env.JWT_AUDIENCE ?? ""),
      ttlSeconds: field("JWT_TTL_SECONDS", z.coerce.number().int().min(60).max(900, "must be at most 900 (15 minutes)"), env.JWT_TTL_SECONDS ?? "900"),
    }),
    secretKey: key(env, "SECRET_KEY_FILE", 32),
    zapier: Object.freeze({
      hmacSecret: key(env, "ZAPIER_HMAC_SECRET_FILE", 32),
      outboundUrls: Object.freeze(outboundUrls(env)),
    }),
    outbox: Object.freeze({
      pollMs: field("OUTBOX_POLL_MS", z.coerce.number().int().min(20).max(60_000), env.OUTBOX_POLL_MS ?? "2000"),
      leaseSeconds: field("OUTBOX_LEASE_SECONDS", z.coerce.number().int().min(1).max(3600), env.OUTBOX_LEASE_SECONDS ?? "60"),
      maxAttempts: field("OUTBOX_MAX_ATTEMPTS", z.coerce.number().int().min(1).max(50), env.OUTBOX_MAX_ATTEMPTS ?? "8"),
    }),
    allowedHosts: Object.freeze(allowedHosts),
    corsOrigins: Object.freeze(corsOrigins),
    trustProxyHops: field("TRUST_PROXY_HOPS", z.coerce.number().int().min(0).max(5), env.TRUST_PROXY_HOPS ?? "1"),
    logLevel: field("LOG_LEVEL", z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), env.LOG_LEVEL ?? "info"),
  });
}
