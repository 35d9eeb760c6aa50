/**
 * The edge, checked from outside on the deployed stack: TLS versions and suites, the redirect,
 * the security headers on API and Caddy responses, refusal of unknown names, the body limit, the
 * access log filters and the loopback-only health listener. Runs against the live suite's shared
 * stack, or the one KRC_STACK_JSON names (test/support/live-stack.ts). Traffic goes only to
 * 127.0.0.1 and the stack's own proxy container.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as https from "node:https";
import { isIP } from "node:net";
import * as tls from "node:tls";
import { beforeAll, describe, expect, it } from "vitest";
import { sharedStackJson } from "../support/live-stack";
import { CADDY_HEALTH_URL, MOZILLA_INTERMEDIATE_CIPHERS, REDACTED_QUERY, REMOVED_RESPONSE_HEADERS, securityHeaders } from "../../infra/caddyfile";

interface Edge {
  apiHost: string;
  kioskHost: string;
  httpsPort: number;
  httpPort: number;
  httpsBase: string;
  ca: Buffer;
  proxyContainer: string;
  apiContainer: string;
}

function loadEdge(STACK_JSON: string): Edge {
  const stack = JSON.parse(readFileSync(STACK_JSON, "utf8")) as {
    url: string;
    httpUrl: string;
    kioskUrl: string;
    caCert: string;
    containers: string[];
  };
  const api = new URL(stack.url);
  const proxyContainer = stack.containers.find((name) => name.endsWith("-proxy"));
  const apiContainer = stack.containers.find((name) => name.endsWith("-api"));
  if (proxyContainer === undefined || apiContainer === undefined) throw new Error(`${STACK_JSON} lists no "-proxy" or "-api" container`);
  return {
    apiHost: api.hostname,
    kioskHost: new URL(stack.kioskUrl).hostname,
    httpsPort: Number(api.port || 443),
    httpPort: Number(new URL(stack.httpUrl).port || 80),
    httpsBase: api.origin,
    ca: readFileSync(stack.caCert),
    proxyContainer,
    apiContainer,
  };
}

interface Reply {
  status: number;
  rawHeaders: string[];
  body: string;
}

/** One HTTPS request to 127.0.0.1 with the given SNI and Host, trusting only the stack's CA. */
function request(edge: Edge, opts: { sni?: string; host?: string; path: string; method?: string; headers?: Record<string, string> }): Promise<Reply> {
  const sni = opts.sni ?? edge.apiHost;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: edge.httpsPort,
        servername: sni,
        ca: edge.ca,
        method: opts.method ?? "GET",
        path: opts.path,
        agent: false,
        headers: { host: `${opts.host ?? sni}:${edge.httpsPort}`, ...opts.headers },
      },
      (res) => collect(res, resolve, reject),
    );
    req.on("error", reject);
    req.end();
  });
}

function plainRequest(edge: Edge, host: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: edge.httpPort, path, agent: false, headers: { host: `${host}:${edge.httpPort}` } },
      (res) => collect(res, resolve, reject),
    );
    req.on("error", reject);
    req.end();
  });
}

function collect(res: http.IncomingMessage, resolve: (r: Reply) => void, reject: (e: Error) => void): void {
  let body = "";
  res.setEncoding("utf8");
  res.on("data", (chunk: string) => (body += chunk));
  res.on("end", () => resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, body }));
  res.on("error", reject);
}

/** Every value sent for a header name (case-insensitive), in order. */
function values(reply: Reply, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < reply.rawHeaders.length; i += 2) {
    if (reply.rawHeaders[i]?.toLowerCase() === name.toLowerCase()) out.push(reply.rawHeaders[i + 1] ?? "");
  }
  return out;
}

/** Over the proxy's default `maxBodyBytes` (1 MiB) and the API's 16 KiB. */
const OVERSIZE = Buffer.from(JSON.stringify({ name: "x".repeat(2 * 2 ** 20) }));

/** Caddy's and the API's 413 share the API's error shape (app/README.md, "Errors"). */
const TOO_LARGE = { error: { code: "payload_too_large", message: expect.any(String) as unknown } };

/** POSTs {@link OVERSIZE} over HTTP/1.1 with the given framing headers. */
function sendBody(edge: Edge, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: edge.httpsPort,
        servername: edge.apiHost,
        ca: edge.ca,
        method: "POST",
        path: "/clients",
        agent: false,
        headers: { host: `${edge.apiHost}:${edge.httpsPort}`, "content-type": "application/json", ...headers },
      },
      (res) => collect(res, resolve, reject),
    );
    // The server may answer and close before the whole body is sent; the reply is what counts.
    req.on("error", (e: NodeJS.ErrnoException) => (e.code === "EPIPE" || e.code === "ECONNRESET" ? undefined : reject(e)));
    req.end(OVERSIZE);
  });
}

/** POSTs {@link OVERSIZE} over HTTP/2, with or without a content-length. */
function sendBodyH2(edge: Edge, declared: boolean): Promise<{ status: number; contentLength: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://${edge.apiHost}:${edge.httpsPort}`, {
      ca: edge.ca,
      servername: edge.apiHost,
      lookup: (_host, options, callback) => (options.all ? callback(null, [{ address: "127.0.0.1", family: 4 }]) : callback(null, "127.0.0.1", 4)),
    });
    session.on("error", reject);
    const headers: http2.OutgoingHttpHeaders = { ":method": "POST", ":path": "/clients", "content-type": "application/json" };
    if (declared) headers["content-length"] = OVERSIZE.length;
    const stream = session.request(headers);
    let status = 0;
    let contentLength: string | undefined;
    let body = "";
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      contentLength = h["content-length"] as string | undefined;
    });
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (body += chunk));
    stream.on("end", () => {
      session.close();
      resolve({ status, contentLength, body });
    });
    stream.on("error", (e) => {
      session.close();
      reject(e);
    });
    stream.end(OVERSIZE);
  });
}

/** A container's stdout and stderr together since a Unix time (seconds). */
function containerLogs(container: string, since: number): string {
  const result = spawnSync("docker", ["logs", "--since", String(since), container], { encoding: "utf8", maxBuffer: 256 * 2 ** 20 });
  if (result.status !== 0) throw new Error(`docker logs ${container} failed: ${result.error?.message ?? result.stderr}`);
  return `${result.stdout}${result.stderr}`;
}

/** A few seconds before now, as `docker logs --since` takes it (clock granularity). */
const aMomentAgo = (): number => Math.floor(Date.now() / 1000) - 5;

type Handshake = { ok: true; protocol: string | null; cipher: string; authorized: boolean } | { ok: false; code: string };

function handshake(edge: Edge, options: tls.ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port: edge.httpsPort, servername: edge.apiHost, ca: edge.ca, ...options }, () => {
      resolve({ ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().standardName, authorized: socket.authorized });
      socket.end();
    });
    socket.on("error", (e: NodeJS.ErrnoException) => resolve({ ok: false, code: e.code ?? e.message }));
  });
}

/** Headers every HTTPS answer must carry exactly once, HSTS checked separately (its preload is config). */
const FIXED_HEADERS = Object.entries(securityHeaders({ hstsPreload: false })).filter(([name]) => name !== "Strict-Transport-Security");

function expectSecurityHeaders(reply: Reply): void {
  for (const [name, value] of FIXED_HEADERS) expect(values(reply, name), name).toEqual([value]);
  const hsts = values(reply, "Strict-Transport-Security");
  expect(hsts).toHaveLength(1);
  const match = /^max-age=(\d+); includeSubDomains(; preload)?$/.exec(hsts[0] ?? "");
  expect(match, `HSTS ${hsts[0]}`).not.toBeNull();
  expect(Number(match?.[1])).toBeGreaterThanOrEqual(31_536_000);
  for (const name of REMOVED_RESPONSE_HEADERS) expect(values(reply, name), name).toEqual([]);
}

describe("the edge of the deployed stack", () => {
  let edge: Edge;
  beforeAll(async () => {
    edge = loadEdge(await sharedStackJson());
  });

  it.each(["TLSv1", "TLSv1.1"] as const)("refuses a %s handshake with a protocol-version alert", async (version) => {
    // SECLEVEL=0 makes the client really offer the old version, so the refusal is the server's.
    const result = await handshake(edge, { minVersion: version, maxVersion: version, ciphers: "DEFAULT@SECLEVEL=0" });
    expect(result).toEqual({ ok: false, code: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION" });
  });

  it.each(["TLSv1.2", "TLSv1.3"] as const)("accepts a %s handshake verified against the stack's CA", async (version) => {
    const result = await handshake(edge, { minVersion: version, maxVersion: version });
    expect(result).toMatchObject({ ok: true, protocol: version, authorized: true });
    if (version === "TLSv1.2" && result.ok) expect(MOZILLA_INTERMEDIATE_CIPHERS).toContain(result.cipher);
  });

  it("refuses TLS 1.2 CBC suites outside the intermediate profile", async () => {
    const result = await handshake(edge, { maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA" });
    expect(result).toEqual({ ok: false, code: "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE" });
  });

  it("refuses a handshake for a name it does not serve", async () => {
    // Caddy has no certificate for the name and ends the handshake with an internal-error alert.
    const result = await handshake(edge, { servername: "unknown.example.com" });
    expect(result).toEqual({ ok: false, code: "ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR" });
  });

  it("answers plain HTTP with a permanent redirect to the https URL, without HSTS", async () => {
    for (const host of [edge.apiHost, edge.kioskHost]) {
      const reply = await plainRequest(edge, host, "/healthz?probe=1");
      expect(reply.status).toBe(308);
      const port = edge.httpsPort === 443 ? "" : `:${edge.httpsPort}`;
      expect(values(reply, "Location")).toEqual([`https://${host}${port}/healthz?probe=1`]);
      expect(values(reply, "Strict-Transport-Security")).toEqual([]);
    }
  });

  it("drops a plain HTTP request for an unknown Host without answering", async () => {
    await expect(plainRequest(edge, "unknown.example.com", "/")).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it("drops an HTTPS request whose Host is unknown without answering", async () => {
    await expect(request(edge, { host: "unknown.example.com", path: "/healthz" })).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it("sends each security header once and no Server header on an API success", async () => {
    for (const sni of [edge.apiHost, edge.kioskHost]) {
      const reply = await request(edge, { sni, path: "/healthz" });
      expect(reply.status).toBe(200);
      expectSecurityHeaders(reply);
    }
  });

  it("sends each security header once on an API 404", async () => {
    const reply = await request(edge, { path: `/no-such-route-${randomBytes(4).toString("hex")}` });
    expect(reply.status).toBe(404);
    expectSecurityHeaders(reply);
  });

  it("answers an oversize body with Caddy's own 413 carrying each security header once", async () => {
    // The declared length alone triggers the limit, so nothing large is sent.
    const reply = await request(edge, {
      path: "/auth/login",
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(2 ** 30) },
    });
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body)).toEqual(TOO_LARGE);
    expectSecurityHeaders(reply);
  });

  it.each([
    ["HTTP/1.1", "a declared length", { "content-length": String(OVERSIZE.length) }],
    ["HTTP/1.1", "chunked encoding", { "transfer-encoding": "chunked" }],
  ] as const)("answers an oversize %s body sent with %s with the whole JSON error in the API's shape", async (_proto, _how, headers) => {
    const reply = await sendBody(edge, headers);
    expect(reply.status).toBe(413);
    expect(values(reply, "content-length").concat(values(reply, "transfer-encoding")).length).toBeGreaterThan(0);
    expect(JSON.parse(reply.body)).toEqual(TOO_LARGE);
  });

  it.each([
    ["a declared length", true],
    ["no declared length (streamed)", false],
  ] as const)("answers an oversize HTTP/2 body with %s with the whole JSON error in the API's shape", async (_how, declared) => {
    const reply = await sendBodyH2(edge, declared);
    expect(reply.status).toBe(413);
    if (reply.contentLength !== undefined) expect(Buffer.byteLength(reply.body)).toBe(Number(reply.contentLength));
    expect(JSON.parse(reply.body)).toEqual(TOO_LARGE);
  });

  it("answers a Host that differs from the SNI with Caddy's own 421 carrying each security header once", async () => {
    const reply = await request(edge, { sni: edge.apiHost, host: edge.kioskHost, path: "/healthz" });
    expect(reply.status).toBe(421);
    expectSecurityHeaders(reply);
  });

  it("logs requests as JSON without Authorization, Cookie, Referer or query values", async () => {
    const marker = randomBytes(12).toString("hex");
    const since = aMomentAgo();
    await request(edge, {
      path: `/no-such-route-${marker}?phone=661-555-${marker}&q=name-${marker}`,
      headers: { authorization: `Bearer auth-${marker}`, cookie: `krc=cookie-${marker}`, referer: `https://example.test/?q=referer-${marker}` },
    });
    // Caddy writes access logs to stdout and its own log to stderr; both must stay clean.
    const logs = containerLogs(edge.proxyContainer, since);
    const line = logs.split("\n").find((l) => l.includes(`/no-such-route-${marker}`));
    expect(line, "access log line").toBeDefined();
    const entry = JSON.parse(line ?? "{}") as { request?: { headers?: Record<string, unknown> } };
    expect(entry.request?.headers).not.toHaveProperty("Authorization");
    expect(entry.request?.headers).not.toHaveProperty("Cookie");
    expect(logs).not.toContain(`auth-${marker}`);
    expect(logs).not.toContain(`cookie-${marker}`);
    expect((JSON.parse(line ?? "{}") as { request?: { uri?: string } }).request?.uri).toBe(`/no-such-route-${marker}${REDACTED_QUERY}`);
    expect(logs).not.toContain(`661-555-${marker}`);
    expect(logs).not.toContain(`name-${marker}`);
    expect(logs).not.toContain(`referer-${marker}`);
  });

  it("replaces a client-sent X-Forwarded-For with the address Caddy saw", async () => {
    const marker = randomBytes(12).toString("hex");
    const spoofed = "203.0.113.77";
    const since = aMomentAgo();
    await request(edge, { path: `/no-such-route-${marker}`, headers: { "x-forwarded-for": spoofed, "x-real-ip": spoofed, forwarded: `for=${spoofed}` } });
    const logs = containerLogs(edge.apiContainer, since);
    const line = logs.split("\n").find((l) => l.includes(`/no-such-route-${marker}`));
    expect(line, "API request log line").toBeDefined();
    const ip = (JSON.parse(line ?? "{}") as { ip?: string }).ip;
    expect(isIP(ip ?? "")).not.toBe(0);
    expect(ip).not.toBe(spoofed);
  });

  it("serves its health endpoint on loopback inside the container and publishes only 80 and 443", () => {
    execFileSync("docker", ["exec", edge.proxyContainer, "wget", "-q", "-O", "/dev/null", CADDY_HEALTH_URL], { stdio: "pipe" });
    const ports = JSON.parse(
      execFileSync("docker", ["inspect", "--format", "{{json .HostConfig.PortBindings}}", edge.proxyContainer], { encoding: "utf8" }),
    ) as Record<string, unknown>;
    expect(Object.keys(ports).sort()).toEqual(["443/tcp", "80/tcp"]);
  });
});
