import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  CADDY_HEALTH_URL,
  CADDY_STORAGE_ROOT,
  type CaddyfileInput,
  caddyErrorBodies,
  LETS_ENCRYPT_PRODUCTION,
  LETS_ENCRYPT_STAGING,
  MOZILLA_INTERMEDIATE_CIPHERS,
  MOZILLA_INTERMEDIATE_CURVES,
  renderCaddyfile,
  securityHeaders,
} from "../../infra/caddyfile";

const DEV: CaddyfileInput = {
  apiHost: "api.krc.localhost",
  kioskHost: "kiosk.krc.localhost",
  tls: "internal",
  hstsPreload: false,
  publicHttpsPort: 8443,
  upstream: "krc-dev-api:8080",
  maxBodyBytes: 1_048_576,
};

const PROD: CaddyfileInput = {
  apiHost: "krc.bakersfieldesports.com",
  kioskHost: "kiosk.bakersfieldesports.com",
  tls: "acme",
  acmeEmail: "ops@bakersfieldesports.com",
  acmeCa: LETS_ENCRYPT_PRODUCTION,
  hstsPreload: true,
  publicHttpsPort: 443,
  upstream: "krc-prod-api:8080",
  maxBodyBytes: 1_048_576,
};

describe("renderCaddyfile", () => {
  it("renders the dev Caddyfile when given the dev input", async () => {
    await expect(renderCaddyfile(DEV)).toMatchFileSnapshot("__snapshots__/dev.Caddyfile");
  });

  it("renders the prod Caddyfile when given the prod input", async () => {
    await expect(renderCaddyfile(PROD)).toMatchFileSnapshot("__snapshots__/prod.Caddyfile");
  });

  it("redirects to the public port when it is not 443", () => {
    expect(renderCaddyfile(DEV)).toContain("redir https://{host}:8443{uri} 308");
    expect(renderCaddyfile(PROD)).toContain("redir https://{host}{uri} 308");
  });

  it("adds preload to HSTS only when opted in", () => {
    expect(securityHeaders({ hstsPreload: false })["Strict-Transport-Security"]).toBe("max-age=63072000; includeSubDomains");
    expect(securityHeaders({ hstsPreload: true })["Strict-Transport-Security"]).toBe(
      "max-age=63072000; includeSubDomains; preload",
    );
  });

  it("uses the staging directory when the input selects it", () => {
    expect(renderCaddyfile({ ...PROD, acmeCa: LETS_ENCRYPT_STAGING })).toContain(`dir ${LETS_ENCRYPT_STAGING}`);
  });

  it.each<[string, Partial<CaddyfileInput>, string]>([
    ["apiHost", { apiHost: "krc.example.com {" }, 'renderCaddyfile: apiHost "krc.example.com {" is not a lowercase hostname (letters, digits, hyphens, dots)'],
    ["kioskHost", { kioskHost: "Kiosk.example.com" }, 'renderCaddyfile: kioskHost "Kiosk.example.com" is not a lowercase hostname (letters, digits, hyphens, dots)'],
    ["same hosts", { kioskHost: "krc.bakersfieldesports.com" }, "renderCaddyfile: kioskHost must differ from apiHost (both krc.bakersfieldesports.com)"],
    ["tls", { tls: "self" as "acme" }, 'renderCaddyfile: tls "self" is not allowed (allowed: "internal", "acme")'],
    ["acmeEmail", { acmeEmail: undefined }, 'renderCaddyfile: acmeEmail undefined is not an email address (required when tls is "acme")'],
    ["acmeEmail injection", { acmeEmail: "a@b.c\n}" }, 'renderCaddyfile: acmeEmail "a@b.c\\n}" is not an email address (required when tls is "acme")'],
    ["acmeCa", { acmeCa: "http://ca.example/dir" }, 'renderCaddyfile: acmeCa "http://ca.example/dir" is not an https:// ACME directory URL (required when tls is "acme")'],
    ["publicHttpsPort", { publicHttpsPort: 70000 }, "renderCaddyfile: publicHttpsPort 70000 is not a port (1-65535)"],
    ["upstream", { upstream: "krc-prod-api" }, 'renderCaddyfile: upstream "krc-prod-api" is not host:port'],
    ["maxBodyBytes", { maxBodyBytes: 0 }, "renderCaddyfile: maxBodyBytes 0 is not a positive whole number of bytes"],
    ["timeouts", { timeouts: { idleSeconds: 1.5 } }, "renderCaddyfile: timeouts.idleSeconds 1.5 is not a positive whole number of seconds"],
  ])("throws naming the field when %s is invalid", (_case, change, message) => {
    expect(() => renderCaddyfile({ ...PROD, ...change })).toThrow(message);
  });

  it("ignores the ACME fields when the CA is internal", () => {
    expect(renderCaddyfile({ ...DEV, acmeEmail: undefined, acmeCa: undefined })).not.toContain("acme");
  });
});

// The same text checked by the caddy binary itself (Debian's caddy 2.6.2, `apt-get install caddy`).
describe.each([
  ["dev", DEV],
  ["prod", PROD],
])("the %s Caddyfile in caddy", (_env, input) => {
  const text = renderCaddyfile(input);
  const dir = mkdtempSync(join(tmpdir(), "krc-caddyfile-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "Caddyfile");
  writeFileSync(file, text);
  const json = adapt(file) as CaddyJson;
  const servers = Object.values(json.apps.http.servers);
  const https = servers.find((s) => s.listen.includes(":443"));
  const siteHosts = [input.apiHost, input.kioskHost];

  it("is already formatted when caddy fmt reads it", () => {
    expect(caddy(["fmt", file]).stdout).toBe(text);
  });

  it("passes caddy validate when its storage points at a scratch directory", () => {
    // Validation provisions the local CA into the storage root, so it must not touch /data here.
    const scratch = join(dir, "validate.Caddyfile");
    writeFileSync(scratch, text.replace(`root ${CADDY_STORAGE_ROOT}`, `root ${join(dir, "data")}`));
    const result = caddy(["validate", "--config", scratch, "--adapter", "caddyfile"]);
    expect(result.stdout).toContain("Valid configuration");
  });

  it("turns the admin endpoint off and stores state under /data", () => {
    expect(json.admin).toEqual({ disabled: true });
    expect(json.storage).toEqual({ module: "file_system", root: "/data/caddy" });
  });

  it("listens only on 80, 443 and the loopback health port", () => {
    expect(servers.flatMap((s) => s.listen).sort()).toEqual([new URL(CADDY_HEALTH_URL).host, ":443", ":80"].sort());
  });

  it("allows only TLS 1.2 and 1.3 with the intermediate suites on every connection policy", () => {
    expect(https?.tls_connection_policies?.length).toBeGreaterThan(0);
    for (const policy of https?.tls_connection_policies ?? []) {
      expect(policy).toMatchObject({
        protocol_min: "tls1.2",
        protocol_max: "tls1.3",
        cipher_suites: MOZILLA_INTERMEDIATE_CIPHERS,
        curves: MOZILLA_INTERMEDIATE_CURVES,
      });
    }
  });

  it("uses exactly one certificate issuer, the configured one", () => {
    const issuers = json.apps.tls.automation.policies.flatMap((policy) => policy.issuers);
    expect(issuers).toEqual(
      input.tls === "acme" ? [{ module: "acme", ca: input.acmeCa, email: input.acmeEmail }] : [{ module: "internal" }],
    );
  });

  it("serves only the configured hosts and aborts every other request", () => {
    const routes = https?.routes ?? [];
    expect(routes[0]?.match).toEqual([{ host: siteHosts }]);
    expect(routes.slice(1)).toHaveLength(1);
    expect(JSON.stringify(routes[1])).toContain('"abort":true');
    expect(routes[1]?.match).toBeUndefined();
    expect(https?.strict_sni_host).toBe(true);
  });

  it("sets timeouts, HTTP/1.1 and HTTP/2 only, and trusts no proxy", () => {
    expect(https).toMatchObject({
      read_header_timeout: 10e9,
      read_timeout: 30e9,
      write_timeout: 60e9,
      idle_timeout: 120e9,
      protocols: ["h1", "h2"],
    });
    expect(https?.trusted_proxies).toBeUndefined();
  });

  it("deletes Authorization, Cookie, Referer and the query string from every access log and Caddy's own log", () => {
    const access = Object.entries(json.logging.logs).filter(([, log]) => log.include?.some((n) => n.startsWith("http.log.access")));
    expect(access.length).toBeGreaterThan(0);
    const own = json.logging.logs["default"];
    expect(own).toBeDefined();
    for (const log of [...access.map(([, l]) => l), own ?? {}]) {
      expect(log.encoder).toMatchObject({
        format: "filter",
        wrap: { format: "json" },
        fields: {
          "request>headers>Authorization": { filter: "delete" },
          "request>headers>Cookie": { filter: "delete" },
          "request>headers>Referer": { filter: "delete" },
          "request>uri": { filter: "regexp", regexp: "[?].*$", value: "?REDACTED" },
          "resp_headers>Set-Cookie": { filter: "delete" },
        },
      });
    }
  });

  it("answers Caddy's own errors in the API's error shape, one code per status, when Caddy produces them", () => {
    const responses: { match?: unknown; body?: string; status?: unknown }[] = [];
    // Each route's own matcher goes with the static_response it holds directly.
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (typeof node === "object" && node !== null) {
        const r = node as Record<string, unknown>;
        for (const h of Array.isArray(r["handle"]) ? (r["handle"] as Record<string, unknown>[]) : []) {
          if (h["handler"] === "static_response" && typeof h["body"] === "string") responses.push({ match: r["match"], body: h["body"], status: h["status_code"] });
        }
        Object.values(r).forEach(walk);
      }
    };
    // The adapter spells the Caddyfile's {err.*} shorthand out as {http.error.*}.
    walk(JSON.parse(JSON.stringify(https?.errors?.routes ?? []).replaceAll("{http.error.", "{err.")) as unknown);
    const bodies = caddyErrorBodies(input.maxBodyBytes);
    for (const [status, body] of Object.entries(bodies)) {
      expect(responses).toContainEqual({ match: [{ expression: `{err.status_code} == ${status}` }], body: JSON.stringify(body), status: Number(status) });
      expect(body.error.code).toMatch(/^[a-z_]+$/);
    }
    expect(bodies[413]?.error.code).toBe("payload_too_large");
    expect(responses.at(-2)).toEqual({ match: [{ expression: "{err.status_code} < 500" }], body: '{"error":{"code":"bad_request","message":"{err.status_text}"}}', status: "{err.status_code}" });
    expect(responses.at(-1)).toEqual({ match: undefined, body: '{"error":{"code":"internal","message":"{err.status_text}"}}', status: "{err.status_code}" });
  });

  it("puts the security headers on proxied responses and on Caddy's own errors, deferred", () => {
    const expected = Object.fromEntries(Object.entries(securityHeaders(input)).map(([k, v]) => [k, [v]]));
    const handlers = [JSON.stringify(https?.routes?.[0]), JSON.stringify(https?.errors?.routes?.[0])];
    for (const handler of handlers) {
      const headers = findHeaders(JSON.parse(handler) as unknown);
      expect(headers).toEqual({ deferred: true, delete: ["Server", "X-Powered-By"], set: expected });
    }
  });

  it("proxies to the upstream without client-supplied forwarding headers and limits the body", () => {
    const site = JSON.stringify(https?.routes?.[0]);
    const proxy = findHandler(https?.routes?.[0], "reverse_proxy");
    expect(proxy).toMatchObject({
      upstreams: [{ dial: input.upstream }],
      headers: { request: { delete: ["Forwarded", "X-Real-IP"] } },
      transport: { protocol: "http", dial_timeout: 5e9, response_header_timeout: 30e9 },
    });
    expect(findHandler(https?.routes?.[0], "request_body")).toEqual({ handler: "request_body", max_size: input.maxBodyBytes });
    expect(site).toContain(
      `{"handle":[{"handler":"error","status_code":413}],"match":[{"expression":"{http.request.header.Content-Length} != \\"\\" && int({http.request.header.Content-Length}) > ${input.maxBodyBytes}"}]}`,
    );
  });

  it("redirects plain HTTP permanently to https without HSTS", () => {
    const http = servers.find((s) => s.listen.includes(":80"));
    const text80 = JSON.stringify(http);
    const port = input.publicHttpsPort === 443 ? "" : `:${input.publicHttpsPort}`;
    expect(text80).toContain(`"Location":["https://{http.request.host}${port}{http.request.uri}"]`);
    expect(text80).toContain('"status_code":308');
    expect(text80).not.toContain("Strict-Transport-Security");
  });
});

interface CaddyServer {
  listen: string[];
  routes?: { match?: unknown[]; handle?: unknown[] }[];
  errors?: { routes?: unknown[] };
  tls_connection_policies?: Record<string, unknown>[];
  strict_sni_host?: boolean;
  trusted_proxies?: unknown;
  [key: string]: unknown;
}

interface CaddyJson {
  admin: unknown;
  storage: unknown;
  logging: { logs: Record<string, { include?: string[]; encoder?: unknown }> };
  apps: {
    http: { servers: Record<string, CaddyServer> };
    tls: { automation: { policies: { issuers: unknown[] }[] } };
  };
}

function caddy(args: string[]): { stdout: string; stderr: string } {
  const result = spawnSync("caddy", args, { encoding: "utf8" });
  if (result.error) {
    throw new Error(`cannot run caddy (install Debian's caddy package: apt-get install -y caddy): ${result.error.message}`);
  }
  if (result.status !== 0) throw new Error(`caddy ${args.join(" ")} failed:\n${result.stderr}`);
  return { stdout: result.stdout, stderr: result.stderr };
}

function adapt(file: string): unknown {
  // Adapting only parses and converts: it provisions nothing and writes nothing.
  return JSON.parse(caddy(["adapt", "--config", file, "--adapter", "caddyfile"]).stdout);
}

/** The first `headers` handler's response operations found in a route tree. */
function findHeaders(node: unknown): unknown {
  return (findHandler(node, "headers") as { response?: unknown } | undefined)?.response;
}

/** The first handler of the given kind found in a route tree (depth first). */
function findHandler(node: unknown, kind: string): Record<string, unknown> | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = findHandler(item, kind);
      if (found !== undefined) return found;
    }
  } else if (typeof node === "object" && node !== null) {
    const record = node as Record<string, unknown>;
    if (record.handler === kind) return record;
    for (const value of Object.values(record)) {
      const found = findHandler(value, kind);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
