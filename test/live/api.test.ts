/**
 * The API's transport rules, checked through the deployed stack's real proxy (Caddy over TLS on
 * 127.0.0.1, trusting only its CA), where they depend on the proxy: the login limit keyed on the
 * client's real address one hop behind Caddy, whatever forwarding headers the client sends; body
 * limits at both layers; forged host headers; a forged token. The full hostile-input suite runs
 * against the app itself in test/app/hostile.test.ts.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StackJson } from "../support/harness/stackJson";
import { sharedStackJson } from "../support/live-stack";

let stack: StackJson;
let agent: Agent;

interface Reply {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/** An HTTPS request to the API host through Caddy. */
async function send(method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Reply> {
  const url = new URL(stack.url);
  const res = await request(`https://127.0.0.1:${url.port}${path}`, { method: method as "POST", dispatcher: agent, headers: { host: url.host, ...headers }, body });
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}

const login = (email: string, extra: Record<string, string> = {}): Promise<Reply> =>
  send("POST", "/auth/login", { "content-type": "application/json", ...extra }, JSON.stringify({ email, password: "Wrong-password-1!" }));

const unknownEmail = (): string => `nobody-${randomBytes(6).toString("hex")}@example.com`;

beforeAll(async () => {
  stack = JSON.parse(readFileSync(await sharedStackJson(), "utf8")) as StackJson;
  agent = new Agent({ connect: { ca: readFileSync(stack.caCert, "utf8"), servername: new URL(stack.url).hostname } });
});

afterAll(async () => {
  await agent?.close();
});

describe("the API behind the deployed proxy", () => {
  it("limits logins to 5 a minute per client address, whatever forwarding headers the client sends", async () => {
    // An earlier run against the same stack may have used this minute's budget: wait it out.
    const first = await login(unknownEmail());
    if (first.status === 429) await new Promise((r) => setTimeout(r, (Number(first.headers["retry-after"]) + 1) * 1000));

    const statuses: number[] = [];
    let retryAfter: string | string[] | undefined;
    for (let i = 0; i < 7; i++) {
      // Each attempt claims to come from somewhere else; Caddy writes the real hop, the API trusts one.
      const reply = await login(unknownEmail(), {
        "x-forwarded-for": `203.0.113.${i + 1}`,
        "x-real-ip": `198.51.100.${i + 1}`,
        forwarded: `for=192.0.2.${i + 1}`,
      });
      statuses.push(reply.status);
      if (reply.status === 429) retryAfter ??= reply.headers["retry-after"];
    }
    // The budget is 5 a minute; the probe above may have spent one of them.
    const allowed = statuses.filter((s) => s === 401).length;
    expect(allowed).toBeGreaterThanOrEqual(4);
    expect(allowed).toBeLessThanOrEqual(5);
    expect(statuses.slice(allowed)).toEqual(Array(7 - allowed).fill(429));
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  it("answers 413 from the API over its 16 KiB body limit and from Caddy over the proxy's limit, never 5xx", async () => {
    const json = (bytes: number) => JSON.stringify({ name: "x".repeat(bytes) });
    const app = await send("POST", "/clients", { "content-type": "application/json" }, json(20 * 1024));
    expect(app.status).toBe(413);
    expect(app.text).toContain("payload_too_large");
    const edge = await send("POST", "/clients", { "content-type": "application/json" }, json(2 * 1024 * 1024));
    expect(edge.status).toBe(413);
  });

  it("answers 415 to a body that is not JSON", async () => {
    const reply = await send("POST", "/auth/login", { "content-type": "text/plain" }, "email=a&password=b");
    expect(reply.status).toBe(415);
  });

  it("never reflects a forged X-Forwarded-Host and never fails with 5xx on it", async () => {
    const reply = await send("GET", "/healthz", { "x-forwarded-host": "evil.example" });
    expect(reply.status).toBeLessThan(500);
    expect(JSON.stringify(reply.headers) + reply.text).not.toContain("evil.example");
  });

  it("refuses an unsigned token (alg none) with 401", async () => {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const token = `${part({ alg: "none", typ: "JWT" })}.${part({ sub: "x", role: "admin", exp: Math.floor(Date.now() / 1000) + 600 })}.`;
    const reply = await send("GET", "/auth/me", { authorization: `Bearer ${token}` });
    expect(reply.status).toBe(401);
  });
});
