/**
 * The only reader of the `krc` config namespace. Every key is parsed with one zod schema, every
 * problem is collected, and one error listing all of them is thrown before any resource exists.
 * Each message names the key, what is wrong, and what is allowed.
 */
import * as net from "node:net";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

/** Rotation-version keys, one per generated secret (raise one to rotate that secret). */
export const SECRET_VERSION_KEYS = [
  "postgresSuperuserPasswordVersion",
  "dbOwnerPasswordVersion",
  "dbAppPasswordVersion",
  "dbReadonlyPasswordVersion",
  "jwtSigningKeyVersion",
  "secretKeyVersion",
  "zapierHmacSecretVersion",
  "adminInitialPasswordVersion",
] as const;
export type SecretVersionKey = (typeof SECRET_VERSION_KEYS)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Validated, frozen stack configuration. Optional addresses are `undefined` when unset or empty. */
export type StackConfig = Readonly<
  {
    stack: string;
    environment: "dev" | "prod";
    apiHost: string;
    kioskHost: string;
    corsOrigins: readonly string[];
    zapierOutboundUrls: readonly string[];
    tls: "internal" | "acme";
    acmeEmail: string | undefined;
    acmeCa: string;
    publicIpv4: string | undefined;
    publicIpv6: string | undefined;
    cloudflareZoneId: string | undefined;
    bindAddress: string;
    httpPort: number;
    httpsPort: number;
    postgresImage: string;
    caddyImage: string;
    nodeImage: string;
    adminEmail: string;
    protectData: boolean;
    logLevel: LogLevel;
    hstsPreload: boolean;
    maxBodyBytes: number;
    cloudflareProxied: boolean;
    cloudflareZoneSettings: boolean;
    caaIssuer: string | undefined;
    internalSubnet: string | undefined;
    postgresProviderEndpoint: { host: string; port: number } | undefined;
  } & Record<SecretVersionKey, number>
>;

/**
 * Defaults applied when a key is unset. Pulumi.yaml declares the same defaults (a unit test keeps
 * them equal); they are repeated here because a program run without the CLI (the live harness)
 * does not get the project file's defaults. `protectData` defaults to the safe choice; throwaway
 * stacks (dev) turn it off explicitly.
 */
export const CONFIG_DEFAULTS = Object.freeze({
  environment: "dev",
  corsOrigins: Object.freeze([]) as readonly string[],
  zapierOutboundUrls: Object.freeze([]) as readonly string[],
  tls: "internal",
  acmeCa: "https://acme-v02.api.letsencrypt.org/directory",
  bindAddress: "127.0.0.1",
  httpPort: 80,
  httpsPort: 443,
  postgresImage: "postgres:17-bookworm",
  caddyImage: "caddy:2",
  nodeImage: "node:22-bookworm-slim",
  logLevel: "info",
  protectData: true,
  hstsPreload: false,
  maxBodyBytes: 1_048_576,
  cloudflareProxied: false,
  cloudflareZoneSettings: false,
  ...Object.fromEntries(SECRET_VERSION_KEYS.map((key) => [key, 1])),
});

/** Thrown with every config problem found; `problems` holds one message per problem. */
export class ConfigError extends Error {
  constructor(
    stack: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid config for stack "${stack}":\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const show = (value: unknown): string => (typeof value === "string" ? JSON.stringify(value) : String(value));

/** A zod error callback: "<value> is not <what>; allowed: <allowed>", or "is required" when unset. */
const explain =
  (what: string, allowed: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? `is required; allowed: ${allowed}` : `${show(issue.input)} is not ${what}; allowed: ${allowed}`;

function checkedString(what: string, allowed: string, test: (s: string) => boolean) {
  const error = explain(what, allowed);
  return z.string({ error }).refine(test, { error });
}

const HOSTNAME_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const isHostname = (s: string): boolean =>
  s.length <= 253 && s.split(".").length >= 2 && s.split(".").every((label) => HOSTNAME_LABEL.test(label));
const EMAIL = /^[^\s@"<>()[\],;:]+@[a-z0-9.-]+\.[a-z]{2,}$/i;
const isEmail = (s: string): boolean => EMAIL.test(s) && isHostname(s.slice(s.indexOf("@") + 1).toLowerCase());
const IMAGE_REF =
  /^(?:[a-z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;
const DIGEST_PINNED = /@sha256:[0-9a-f]{64}$/;

const hostname = checkedString(
  "a hostname",
  "lowercase letters, digits and hyphens in two or more dot-separated labels, such as krc.example.com",
  isHostname,
);
const email = checkedString("an email address", "an address such as ops@example.com", isEmail);
const image = checkedString("an image reference", "name[:tag][@sha256:<64 hex>], such as postgres:17-bookworm", (s) =>
  IMAGE_REF.test(s),
);

/** Most outbound webhook receivers the API delivers each event to. */
export const MAX_WEBHOOK_URLS = 10;

/**
 * A webhook receiver: https, a host, no credentials. A Zapier catch-hook URL carries its own token
 * in the path, so it is set with `--secret` and the message never repeats the value.
 */
const webhookUrl = z.string({ error: "is not a URL; allowed: an https URL such as https://hooks.zapier.com/hooks/catch/…" }).refine(
  (s) => {
    try {
      const url = new URL(s);
      return url.protocol === "https:" && url.hostname !== "" && url.username === "" && url.password === "" && s.length <= 2048;
    } catch {
      return false;
    }
  },
  { error: "is not an https URL without credentials (value withheld: it may hold a token); allowed: an https URL such as https://hooks.zapier.com/hooks/catch/…" },
);

const fromIntegerText = (v: unknown): unknown => (typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v);
const fromBooleanText = (v: unknown): unknown => (v === "true" ? true : v === "false" ? false : v);
const fromJsonText = (v: unknown): unknown => {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
};

const flag = z.preprocess(fromBooleanText, z.boolean({ error: explain("a boolean", "true, false") }));

function integer(min: number, max: number, what: string, allowed: string) {
  const error = explain(what, allowed);
  return z.preprocess(fromIntegerText, z.number({ error }).int({ error }).min(min, { error }).max(max, { error }));
}
const port = integer(1, 65535, "a port", "an integer from 1 to 65535");
const version = integer(1, Number.MAX_SAFE_INTEGER, "a positive integer", "1, 2, 3, ... (raise it to rotate the secret)");

function oneOf<const T extends readonly [string, ...string[]]>(values: T, what: string) {
  return z.enum(values, { error: explain(what, values.join(", ")) });
}

const corsOrigin = z
  .string({ error: explain("a string", "an origin such as https://krc.example.com") })
  .refine((s) => !s.includes("*"), {
    abort: true,
    error: (issue) => `${show(issue.input)} is a wildcard; allowed: exact origins such as https://krc.example.com`,
  })
  .refine(isOrigin, {
    error: (issue) =>
      `${show(issue.input)} is not an origin; allowed: http(s)://host[:port] with no path, query or trailing slash`,
  });

function isOrigin(s: string): boolean {
  try {
    const url = new URL(s);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === s && isHostname(url.hostname);
  } catch {
    return false;
  }
}

/** One schema per key; optional keys accept undefined (and "" for the optional addresses). */
const KEY_SCHEMAS = {
  environment: oneOf(["dev", "prod"], "an environment"),
  apiHost: hostname,
  kioskHost: hostname,
  corsOrigins: z.preprocess(
    fromJsonText,
    z.array(corsOrigin, { error: explain("a list of origins", "a YAML list or JSON array of origins") }),
  ),
  zapierOutboundUrls: z.preprocess(
    fromJsonText,
    z
      .array(webhookUrl, { error: "is not a list (value withheld: it may hold tokens); allowed: a YAML list or JSON array of https URLs" })
      .max(MAX_WEBHOOK_URLS, { error: `lists more than ${MAX_WEBHOOK_URLS} URLs; allowed: at most ${MAX_WEBHOOK_URLS}` })
      .refine((urls) => new Set(urls).size === urls.length, { error: "lists a URL twice; allowed: each URL once" }),
  ),
  tls: oneOf(["internal", "acme"], "a TLS mode"),
  acmeEmail: email.optional(),
  acmeCa: checkedString("an https URL", "an ACME directory URL such as https://acme-v02.api.letsencrypt.org/directory", (s) =>
    /^https:\/\/[^\s/]+\/\S*$/.test(s),
  ),
  publicIpv4: checkedString("an IPv4 address", "a dotted-quad address such as 203.0.113.10", (s) => net.isIPv4(s)).optional(),
  publicIpv6: checkedString("an IPv6 address", "an address such as 2001:db8::10", (s) => net.isIPv6(s)).optional(),
  cloudflareZoneId: checkedString(
    "a Cloudflare zone id",
    "32 lowercase hexadecimal characters, or empty for no DNS records",
    (s) => /^[0-9a-f]{32}$/.test(s),
  ).optional(),
  bindAddress: checkedString("an IP address", "an IPv4 or IPv6 address such as 127.0.0.1", (s) => net.isIP(s) !== 0),
  httpPort: port,
  httpsPort: port,
  postgresImage: image,
  caddyImage: image,
  nodeImage: image,
  adminEmail: email,
  protectData: flag,
  logLevel: oneOf(LOG_LEVELS, "a log level"),
  hstsPreload: flag,
  maxBodyBytes: integer(1, 1_073_741_824, "a body size", "a whole number of bytes from 1 to 1073741824 (1 GiB)"),
  cloudflareProxied: flag,
  cloudflareZoneSettings: flag,
  internalSubnet: checkedString(
    "an IPv4 subnet",
    "a private IPv4 network in CIDR form with a prefix from /16 to /28, such as 10.89.0.0/24, or empty to let Docker choose",
    isPrivateSubnet,
  ).optional(),
  postgresProviderEndpoint: checkedString(
    "a host:port endpoint",
    "host:port of a tunnel to the database, such as 127.0.0.1:15432, or empty to connect to the container's address",
    (s) => parseEndpoint(s) !== undefined,
  ).optional(),
  caaIssuer: checkedString("a CAA issuer domain", "the CA's CAA identifier, such as letsencrypt.org", isHostname).optional(),
  ...(Object.fromEntries(SECRET_VERSION_KEYS.map((key) => [key, version])) as Record<SecretVersionKey, typeof version>),
} satisfies Record<string, z.ZodType>;

type ConfigKey = keyof typeof KEY_SCHEMAS;
type Parsed = { [K in ConfigKey]: z.output<(typeof KEY_SCHEMAS)[K]> };

/** Every config key the program reads, in declaration order. */
export const CONFIG_KEYS = Object.keys(KEY_SCHEMAS) as readonly ConfigKey[];

const OPTIONAL_TEXT_KEYS: readonly ConfigKey[] = [
  "acmeEmail",
  "publicIpv4",
  "publicIpv6",
  "cloudflareZoneId",
  "caaIssuer",
  "internalSubnet",
  "postgresProviderEndpoint",
];

function parseEndpoint(s: string): { host: string; port: number } | undefined {
  const match = /^(.+):(\d{1,5})$/.exec(s);
  if (!match) return undefined;
  const [, host, port] = match as unknown as [string, string, string];
  const ok = (net.isIPv4(host) || isHostname(host) || host === "localhost") && Number(port) >= 1 && Number(port) <= 65535;
  return ok ? { host, port: Number(port) } : undefined;
}

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** A private (RFC 1918) IPv4 network address with a /16–/28 prefix. */
function isPrivateSubnet(s: string): boolean {
  const [ip, prefixText] = s.split("/");
  const prefix = Number(prefixText);
  if (ip === undefined || !net.isIPv4(ip) || !/^\d+$/.test(prefixText ?? "") || prefix < 16 || prefix > 28) return false;
  const n = ipv4ToInt(ip);
  const aligned = n % 2 ** (32 - prefix) === 0;
  const inRange = (base: string, bits: number) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(ipv4ToInt(base) / 2 ** (32 - bits));
  return aligned && (inRange("10.0.0.0", 8) || inRange("172.16.0.0", 12) || inRange("192.168.0.0", 16));
}

/**
 * Validates raw config values (typed, or the strings Pulumi stores) for `stack`. Pure: throws a
 * {@link ConfigError} naming every problem, or returns the frozen config.
 */
export function parseStackConfig(raw: Readonly<Record<string, unknown>>, stack: string): StackConfig {
  const problems: string[] = [];
  const known = new Set<string>(CONFIG_KEYS);
  for (const key of Object.keys(raw).sort()) {
    if (!known.has(key)) {
      problems.push(`krc:${key}: is not a known key; allowed: ${[...CONFIG_KEYS].sort().join(", ")}`);
    }
  }

  const values: Partial<Record<ConfigKey, unknown>> = {};
  const failed = new Set<ConfigKey>();
  for (const key of CONFIG_KEYS) {
    let input = raw[key];
    if (OPTIONAL_TEXT_KEYS.includes(key) && input === "") input = undefined;
    if (input === undefined && key in CONFIG_DEFAULTS) input = CONFIG_DEFAULTS[key as keyof typeof CONFIG_DEFAULTS];
    const result = KEY_SCHEMAS[key].safeParse(input);
    if (result.success) {
      values[key] = result.data;
    } else {
      failed.add(key);
      for (const issue of result.error.issues) {
        problems.push(`krc:${key}${issue.path.map((p) => `[${String(p)}]`).join("")}: ${issue.message}`);
      }
    }
  }
  const parsed = values as Parsed;
  problems.push(
    ...crossKeyProblems(parsed, validOrigins(raw.corsOrigins), (...keys) => keys.every((key) => !failed.has(key))),
  );
  if (problems.length > 0) throw new ConfigError(stack, problems);

  const endpoint = parsed.postgresProviderEndpoint === undefined ? undefined : parseEndpoint(parsed.postgresProviderEndpoint);
  return Object.freeze({
    ...parsed,
    stack,
    corsOrigins: Object.freeze([...parsed.corsOrigins]),
    zapierOutboundUrls: Object.freeze([...parsed.zapierOutboundUrls]),
    postgresProviderEndpoint: endpoint && Object.freeze(endpoint),
  });
}

/** The entries of `corsOrigins` that are origins, with their index, even when others are not. */
function validOrigins(raw: unknown): [number, string][] {
  const list = fromJsonText(raw ?? CONFIG_DEFAULTS.corsOrigins);
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry: unknown, i): [number, string][] =>
    corsOrigin.safeParse(entry).success ? [[i, entry as string]] : [],
  );
}

/**
 * Rules that relate keys to each other, and the stricter rules of prod. A rule runs only when
 * every key it reads parsed (`valid`), so one bad value is reported once.
 */
function crossKeyProblems(c: Parsed, origins: [number, string][], valid: (...keys: ConfigKey[]) => boolean): string[] {
  const problems: string[] = [];
  const prod = valid("environment") && c.environment === "prod";
  if (valid("apiHost", "kioskHost") && c.kioskHost === c.apiHost) {
    problems.push(`krc:kioskHost: equals krc:apiHost (${show(c.apiHost)}); allowed: a hostname different from krc:apiHost`);
  }
  if (valid("httpPort", "httpsPort") && c.httpsPort === c.httpPort) {
    problems.push(`krc:httpsPort: equals krc:httpPort (${c.httpPort}); allowed: a port different from krc:httpPort`);
  }
  if (valid("tls", "acmeEmail") && c.tls === "acme" && c.acmeEmail === undefined) {
    problems.push("krc:acmeEmail: is required when krc:tls is acme; allowed: the email address of the ACME account");
  }
  if (valid("postgresProviderEndpoint", "internalSubnet") && c.postgresProviderEndpoint !== undefined && c.internalSubnet === undefined) {
    problems.push(
      "krc:internalSubnet: is required when krc:postgresProviderEndpoint is set; allowed: a fixed subnet such as 10.89.0.0/24, so the tunnel's target (the database's address) never changes",
    );
  }
  if (valid("cloudflareZoneId", "publicIpv4") && c.cloudflareZoneId !== undefined && c.publicIpv4 === undefined) {
    problems.push("krc:publicIpv4: is required when krc:cloudflareZoneId is set; allowed: the server's public IPv4 address");
  }
  const seen = new Set<string>();
  origins.forEach(([i, origin]) => {
    if (seen.has(origin)) {
      problems.push(`krc:corsOrigins[${i}]: ${show(origin)} is listed twice; allowed: each origin once`);
    }
    seen.add(origin);
    if (prod && !origin.startsWith("https://")) {
      problems.push(`krc:corsOrigins[${i}]: ${show(origin)} is not https in prod; allowed in prod: https origins only`);
    }
  });
  if (prod) {
    for (const key of ["postgresImage", "caddyImage", "nodeImage"] as const) {
      if (valid(key) && !DIGEST_PINNED.test(c[key])) {
        problems.push(
          `krc:${key}: ${show(c[key])} is not pinned by digest in prod; allowed in prod: a reference ending in @sha256:<64 hex>`,
        );
      }
    }
  }
  return problems;
}

/** Reads the `krc` namespace of the running stack's config and validates it. */
export function loadConfig(): StackConfig {
  const raw: Record<string, unknown> = {};
  // allConfig, not Config.get per key: a misspelled key must be reported, not silently ignored.
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (fullKey.startsWith("krc:")) raw[fullKey.slice("krc:".length)] = value;
  }
  return parseStackConfig(raw, pulumi.getStack());
}
