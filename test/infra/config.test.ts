import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_DEFAULTS, CONFIG_KEYS, ConfigError, parseStackConfig } from "../../infra/config";
import { stackFile } from "../support/program";

const ROOT = join(__dirname, "..", "..");
const DIGEST = `@sha256:${"a".repeat(64)}`;

/** A complete, valid prod config; each case below changes one thing. */
const PROD: Record<string, unknown> = {
  environment: "prod",
  apiHost: "krc.example.com",
  kioskHost: "kiosk.example.com",
  corsOrigins: ["https://krc.example.com", "https://kiosk.example.com"],
  tls: "acme",
  acmeEmail: "ops@example.com",
  adminEmail: "owner@example.com",
  postgresImage: `postgres:17-bookworm${DIGEST}`,
  caddyImage: `caddy:2${DIGEST}`,
  nodeImage: `node:22-bookworm-slim${DIGEST}`,
};
const DEV: Record<string, unknown> = { apiHost: "krc.localhost", kioskHost: "kiosk.localhost", adminEmail: "admin@krc.localhost" };

function problemsOf(raw: Record<string, unknown>, stack = "prod"): readonly string[] {
  try {
    parseStackConfig(raw, stack);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("parseStackConfig", () => {
  it("returns a frozen config with defaults when a dev config sets only the required keys", () => {
    const config = parseStackConfig(DEV, "dev");
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.corsOrigins)).toBe(true);
    expect(config).toMatchObject({ stack: "dev", environment: "dev", tls: "internal", httpPort: 80, protectData: true, jwtSigningKeyVersion: 1 });
  });

  it("accepts the strings Pulumi stores for integers, booleans and arrays", () => {
    const config = parseStackConfig(
      { ...DEV, httpPort: "8080", protectData: "false", corsOrigins: '["https://krc.localhost:8443"]', secretKeyVersion: "3" },
      "dev",
    );
    expect(config).toMatchObject({ httpPort: 8080, protectData: false, corsOrigins: ["https://krc.localhost:8443"], secretKeyVersion: 3 });
  });

  it("parses the provider endpoint when a tunnel is configured", () => {
    const config = parseStackConfig({ ...DEV, internalSubnet: "10.89.0.0/24", postgresProviderEndpoint: "127.0.0.1:15432" }, "dev");
    expect(config.postgresProviderEndpoint).toEqual({ host: "127.0.0.1", port: 15432 });
    expect(config.internalSubnet).toBe("10.89.0.0/24");
  });

  it("treats empty optional addresses as unset", () => {
    const config = parseStackConfig({ ...DEV, cloudflareZoneId: "", publicIpv4: "", acmeEmail: "" }, "dev");
    expect(config.cloudflareZoneId).toBeUndefined();
    expect(config.publicIpv4).toBeUndefined();
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      "an http webhook URL, without repeating it",
      { zapierOutboundUrls: ["http://hooks.example.com/catch/s3cret"] },
      ["krc:zapierOutboundUrls[0]: is not an https URL without credentials (value withheld: it may hold a token); allowed: an https URL such as https://hooks.zapier.com/hooks/catch/…"],
    ],
    [
      "a webhook URL with credentials",
      { zapierOutboundUrls: ["https://user:pw@hooks.example.com/x"] },
      ["krc:zapierOutboundUrls[0]: is not an https URL without credentials (value withheld: it may hold a token); allowed: an https URL such as https://hooks.zapier.com/hooks/catch/…"],
    ],
    ["a webhook URL listed twice", { zapierOutboundUrls: ["https://a.example.com/x", "https://a.example.com/x"] }, ["krc:zapierOutboundUrls: lists a URL twice; allowed: each URL once"]],
    ["a wildcard CORS origin", { corsOrigins: ["*"] }, ['krc:corsOrigins[0]: "*" is a wildcard; allowed: exact origins such as https://krc.example.com']],
    [
      "an http CORS origin in prod",
      { corsOrigins: ["https://krc.example.com", "http://kiosk.example.com"] },
      ['krc:corsOrigins[1]: "http://kiosk.example.com" is not https in prod; allowed in prod: https origins only'],
    ],
    [
      "a CORS origin with a path",
      { corsOrigins: ["https://krc.example.com/app"] },
      ['krc:corsOrigins[0]: "https://krc.example.com/app" is not an origin; allowed: http(s)://host[:port] with no path, query or trailing slash'],
    ],
    [
      "a CORS origin listed twice",
      { corsOrigins: ["https://krc.example.com", "https://krc.example.com"] },
      ['krc:corsOrigins[1]: "https://krc.example.com" is listed twice; allowed: each origin once'],
    ],
    [
      "CORS origins that are not a list",
      { corsOrigins: "https://krc.example.com" },
      ['krc:corsOrigins: "https://krc.example.com" is not a list of origins; allowed: a YAML list or JSON array of origins'],
    ],
    [
      "a hostname that is not a hostname",
      { apiHost: "krc_api.example.com" },
      ['krc:apiHost: "krc_api.example.com" is not a hostname; allowed: lowercase letters, digits and hyphens in two or more dot-separated labels, such as krc.example.com'],
    ],
    [
      "the same hostname twice",
      { kioskHost: "krc.example.com" },
      ['krc:kioskHost: equals krc:apiHost ("krc.example.com"); allowed: a hostname different from krc:apiHost'],
    ],
    [
      "acme without an email",
      { acmeEmail: undefined },
      ["krc:acmeEmail: is required when krc:tls is acme; allowed: the email address of the ACME account"],
    ],
    [
      "an image without a digest in prod",
      { caddyImage: "caddy:2" },
      ['krc:caddyImage: "caddy:2" is not pinned by digest in prod; allowed in prod: a reference ending in @sha256:<64 hex>'],
    ],
    [
      "an image reference that is not one",
      { nodeImage: "Node 22" },
      ['krc:nodeImage: "Node 22" is not an image reference; allowed: name[:tag][@sha256:<64 hex>], such as postgres:17-bookworm'],
    ],
    ["a port out of range", { httpsPort: 70000 }, ["krc:httpsPort: 70000 is not a port; allowed: an integer from 1 to 65535"]],
    ["two equal ports", { httpPort: 443 }, ["krc:httpsPort: equals krc:httpPort (443); allowed: a port different from krc:httpPort"]],
    [
      "a version that is not a positive integer",
      { jwtSigningKeyVersion: 0 },
      ["krc:jwtSigningKeyVersion: 0 is not a positive integer; allowed: 1, 2, 3, ... (raise it to rotate the secret)"],
    ],
    [
      "a bind address that is not an IP",
      { bindAddress: "localhost" },
      ['krc:bindAddress: "localhost" is not an IP address; allowed: an IPv4 or IPv6 address such as 127.0.0.1'],
    ],
    ["an unknown TLS mode", { tls: "letsencrypt" }, ['krc:tls: "letsencrypt" is not a TLS mode; allowed: internal, acme']],
    ["an unknown environment", { environment: "staging" }, ['krc:environment: "staging" is not an environment; allowed: dev, prod']],
    ["a missing admin email", { adminEmail: undefined }, ["krc:adminEmail: is required; allowed: an address such as ops@example.com"]],
    ["a boolean that is not one", { protectData: "yes" }, ['krc:protectData: "yes" is not a boolean; allowed: true, false']],
    [
      "a zone without a public IPv4",
      { cloudflareZoneId: "0123456789abcdef0123456789abcdef" },
      ["krc:publicIpv4: is required when krc:cloudflareZoneId is set; allowed: the server's public IPv4 address"],
    ],
    [
      "a zone id of the wrong shape",
      { cloudflareZoneId: "example.com", publicIpv4: "203.0.113.10" },
      ['krc:cloudflareZoneId: "example.com" is not a Cloudflare zone id; allowed: 32 lowercase hexadecimal characters, or empty for no DNS records'],
    ],
    [
      "an IPv6 address as publicIpv4",
      { publicIpv4: "2001:db8::1" },
      ['krc:publicIpv4: "2001:db8::1" is not an IPv4 address; allowed: a dotted-quad address such as 203.0.113.10'],
    ],
    [
      "a subnet that is not private",
      { internalSubnet: "8.8.8.0/24" },
      ['krc:internalSubnet: "8.8.8.0/24" is not an IPv4 subnet; allowed: a private IPv4 network in CIDR form with a prefix from /16 to /28, such as 10.89.0.0/24, or empty to let Docker choose'],
    ],
    [
      "a subnet that is not a network address",
      { internalSubnet: "10.89.0.5/24" },
      ['krc:internalSubnet: "10.89.0.5/24" is not an IPv4 subnet; allowed: a private IPv4 network in CIDR form with a prefix from /16 to /28, such as 10.89.0.0/24, or empty to let Docker choose'],
    ],
    [
      "a provider endpoint without a port",
      { postgresProviderEndpoint: "127.0.0.1", internalSubnet: "10.89.0.0/24" },
      ['krc:postgresProviderEndpoint: "127.0.0.1" is not a host:port endpoint; allowed: host:port of a tunnel to the database, such as 127.0.0.1:15432, or empty to connect to the container\'s address'],
    ],
    [
      "a provider endpoint without a fixed subnet",
      { postgresProviderEndpoint: "127.0.0.1:15432" },
      [
        "krc:internalSubnet: is required when krc:postgresProviderEndpoint is set; allowed: a fixed subnet such as 10.89.0.0/24, so the tunnel's target (the database's address) never changes",
      ],
    ],
    [
      "a misspelled key",
      { corsOrigin: ["https://krc.example.com"] },
      [expect.stringMatching(/^krc:corsOrigin: is not a known key; allowed: acmeCa, acmeEmail, .*corsOrigins, /) as unknown as string],
    ],
  ])("reports exactly one message for %s", (_case, change, expected) => {
    expect(problemsOf({ ...PROD, ...change })).toEqual(expected);
  });

  it("allows http CORS origins in dev", () => {
    expect(problemsOf({ ...DEV, corsOrigins: ["http://krc.localhost:8080"] }, "dev")).toEqual([]);
  });

  it("collects every problem into one error before returning anything", () => {
    expect(() => parseStackConfig({ ...PROD, tls: "acme", acmeEmail: undefined, httpPort: 0, corsOrigins: ["*"] }, "prod")).toThrow(
      [
        'Invalid config for stack "prod":',
        '  - krc:corsOrigins[0]: "*" is a wildcard; allowed: exact origins such as https://krc.example.com',
        "  - krc:httpPort: 0 is not a port; allowed: an integer from 1 to 65535",
        "  - krc:acmeEmail: is required when krc:tls is acme; allowed: the email address of the ACME account",
      ].join("\n"),
    );
  });
});

describe("stack files", () => {
  it("passes validation when the stack is dev", () => {
    expect(parseStackConfig(stackFile("dev"), "dev")).toMatchObject({
      apiHost: "krc.localhost",
      kioskHost: "kiosk.localhost",
      tls: "internal",
      bindAddress: "127.0.0.1",
      httpPort: 8080,
      httpsPort: 8443,
      cloudflareZoneId: undefined,
    });
  });

  it("passes the strict rules when the stack is prod", () => {
    const config = parseStackConfig(stackFile("prod"), "prod");
    expect(config.corsOrigins).toEqual(["https://krc.bakersfieldesports.com", "https://kiosk.bakersfieldesports.com"]);
    expect(config.protectData).toBe(true);
  });

  it("sets no credential when the stack is prod", () => {
    const config = (parse(readFileSync(join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
    const credentials = Object.keys(config).filter((key) => /password|token|secret|private/i.test(key));
    expect(credentials).toEqual([]);
  });
});

describe("Pulumi.yaml", () => {
  const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as {
    name: string;
    main: string;
    runtime: { name: string; options: { typescript: boolean } };
    config: Record<string, { type: string; description: string; default?: unknown; items?: { type: string } }>;
  };

  it("declares exactly the keys config.ts reads, each with a type and a description", () => {
    expect(Object.keys(project.config).sort()).toEqual([...CONFIG_KEYS].sort());
    for (const [key, spec] of Object.entries(project.config)) {
      expect(["string", "integer", "boolean", "array"], key).toContain(spec.type);
      expect(spec.description.length, key).toBeGreaterThan(10);
    }
  });

  it("declares the same defaults config.ts applies", () => {
    const declared = Object.fromEntries(
      Object.entries(project.config).flatMap(([key, spec]) => (spec.default === undefined || spec.default === "" ? [] : [[key, spec.default]])),
    );
    expect(declared).toEqual({ ...CONFIG_DEFAULTS });
  });

  it("runs the TypeScript program under infra/", () => {
    expect(project).toMatchObject({ name: "krc", main: "infra/", runtime: { name: "nodejs", options: { typescript: true } } });
  });
});
