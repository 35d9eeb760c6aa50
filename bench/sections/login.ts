/**
 * Section 3, login: argon2id at the app's configured parameters (imported, never copied), login
 * latency with 8 concurrent clients, and the deployed API container's peak memory against its limit.
 *
 * Honesty about the 5-per-minute login limit: the limiter keys on the real client address, and
 * every client of the host's published port reaches Caddy through the same address, so the
 * deployed stack allows 5 logins a minute to the whole benchmark. The login latency is therefore
 * measured on a dedicated instance of the app, built in this process by the app's own `buildApp`
 * against the deployed stack's database (app role, TLS verified against the stack's database CA),
 * listening on 127.0.0.1 with no proxy in front (TRUST_PROXY_HOPS=0, so the address is the TCP
 * peer). Each login comes from its own loopback source address (127.77.x.y), used once: the
 * limiter is untouched and never trips, because no address exceeds its budget. The deployed
 * container gets a burst of at most 8 concurrent logins, of which the limiter lets its budget
 * through, while its memory is sampled.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Writable } from "node:stream";
import { hash } from "@node-rs/argon2";
import { Pool } from "pg";
import { buildApp } from "../../app/src/app";
import { ARGON2_OPTIONS, hashPassword } from "../../app/src/auth/password";
import { loadConfig } from "../../app/src/config";
import { createLogger } from "../../app/src/logger";
import type { LiveStack } from "../lib/stack";
import { percentile, type Figure } from "../lib/stats";

/** Concurrent clients of the login measurement. */
export const LOGIN_CLIENTS = 8;
/** Logins measured (and as many baseline requests); bounded by {@link LOGIN_MAX_MS} too. */
export const LOGINS = 120;
export const LOGIN_MAX_MS = 90_000;
/** Hashes per hash-rate measurement. */
export const HASHES = 24;

interface Timed {
  readonly latencies: number[];
  readonly ms: number;
}

/** Runs `count` calls with `parallel` in flight; returns each call's latency and the total time. */
async function timedPool(count: number, parallel: number, maxMs: number, one: (n: number) => Promise<void>): Promise<Timed> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count && performance.now() - started < maxMs) {
        const n = next++;
        const t0 = performance.now();
        await one(n);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, ms: performance.now() - started };
}

/** argon2id hashes per second, `parallel` at a time, with the given options. */
async function hashRate(options: Parameters<typeof hash>[1], parallel: number): Promise<number> {
  const password = "Bench-password-1!";
  await hash(password, options);
  const t = await timedPool(HASHES, parallel, 60_000, async () => {
    await hash(password, options);
  });
  return (t.latencies.length / t.ms) * 1000;
}

/** The loopback source address of the n-th request: one address per request (127.77.0.1 onwards). */
export function sourceAddress(n: number): string {
  const i = n + 1;
  if (i > 65_534) throw new Error("more requests than distinct 127.77.x.y source addresses");
  return `127.77.${i >> 8}.${i & 255}`;
}

function post(port: number, host: string, path: string, from: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host };
    if (body !== undefined) Object.assign(headers, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
    const req = httpRequest({ host: "127.0.0.1", port, path, method: body === undefined ? "GET" : "POST", localAddress: from, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The dedicated instance: the app's own builder, the stack's database, throwaway signing keys. */
async function startInstance(stack: LiveStack): Promise<{ port: number; errors: string[]; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "krc-bench-login-"));
  const file = (name: string, value: string): string => {
    const path = join(dir, name);
    writeFileSync(path, `${value}\n`, { mode: 0o600 });
    return path;
  };
  const app = stack.postgres.roles.app;
  const config = loadConfig({
    DATABASE_HOST: stack.postgres.host,
    DATABASE_PORT: String(stack.postgres.port),
    DATABASE_NAME: stack.postgres.database,
    DATABASE_USER: app.user,
    DATABASE_PASSWORD_FILE: file("db_app_password", app.password),
    JWT_SIGNING_KEY_FILE: file("jwt_signing_key", randomBytes(32).toString("hex")),
    SECRET_KEY_FILE: file("secret_key", randomBytes(32).toString("hex")),
    ZAPIER_HMAC_SECRET_FILE: file("zapier_hmac_secret", randomBytes(32).toString("hex")),
    JWT_ISSUER: "krc-bench",
    JWT_AUDIENCE: "krc-bench",
    ALLOWED_HOSTS: stack.url.hostname,
    CORS_ORIGINS: stack.url.origin,
    TRUST_PROXY_HOPS: "0",
    LOG_LEVEL: "info",
  });
  // The stack's server certificate names the database container, which the host reaches by address.
  const pool = new Pool({
    host: stack.postgres.host,
    port: stack.postgres.port,
    database: stack.postgres.database,
    user: app.user,
    password: app.password,
    max: 10,
    ssl: { ca: stack.postgres.caPem, servername: stack.container("db"), rejectUnauthorized: true },
  });
  // Logs are produced (their cost is part of a login) and dropped, except errors (level 50 and up),
  // kept to explain a failure; the app's logs never hold a secret.
  const errors: string[] = [];
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      for (const line of chunk.toString("utf8").split("\n")) if (/"level":(5|6)\d/.test(line) && errors.length < 3) errors.push(line.slice(0, 400));
      done();
    },
  });
  const server: Server = buildApp({ config, pool, logger: createLogger("info", sink) }).listen(0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", () => resolve());
    server.once("error", reject);
  });
  return {
    port: (server.address() as AddressInfo).port,
    errors,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Login figures for `user` (an existing account of the stack that needs no password change). */
export async function benchLogin(stack: LiveStack, user: { email: string; password: string }, log: (line: string) => void): Promise<Figure[]> {
  const params = `m=${ARGON2_OPTIONS.memoryCost} KiB, t=${ARGON2_OPTIONS.timeCost}, p=${ARGON2_OPTIONS.parallelism}`;
  log(`  argon2id hash rate (${params})`);
  // Same password and library; only the parameters differ from the library's defaults.
  await hashPassword("warm-up-Password-1!");
  const ours1 = await hashRate(ARGON2_OPTIONS, 1);
  const lib1 = await hashRate({ algorithm: ARGON2_OPTIONS.algorithm }, 1);
  const ours4 = await hashRate(ARGON2_OPTIONS, 4);
  const lib4 = await hashRate({ algorithm: ARGON2_OPTIONS.algorithm }, 4);

  log(`  login with ${LOGIN_CLIENTS} concurrent clients on a dedicated in-process instance`);
  const instance = await startInstance(stack);
  let loginFailures = 0;
  let healthFailures = 0;
  let logins: Timed;
  let health: Timed;
  try {
    const body = JSON.stringify({ email: user.email, password: user.password });
    await post(instance.port, stack.url.hostname, "/healthz", sourceAddress(0));
    health = await timedPool(LOGINS, LOGIN_CLIENTS, LOGIN_MAX_MS, async (n) => {
      const reply = await post(instance.port, stack.url.hostname, "/healthz", sourceAddress(LOGINS + n));
      if (reply.status !== 200) healthFailures += 1;
    });
    logins = await timedPool(LOGINS, LOGIN_CLIENTS, LOGIN_MAX_MS, async (n) => {
      const reply = await post(instance.port, stack.url.hostname, "/auth/login", sourceAddress(n), body);
      if (reply.status !== 200) {
        loginFailures += 1;
        if (loginFailures === 1) log(`  a login failed: HTTP ${reply.status} ${reply.body.slice(0, 200)}`);
      }
    });
  } finally {
    await instance.stop();
  }
  if (loginFailures > 0 || healthFailures > 0) {
    throw new Error(`login bench: ${loginFailures} logins and ${healthFailures} health checks failed${instance.errors.length ? `; the app logged:\n${instance.errors.join("\n")}` : ""}`);
  }
  const baseName = `GET /healthz, same instance, same ${LOGIN_CLIENTS} clients`;
  const note = `${logins.latencies.length} logins, ${LOGIN_CLIENTS} concurrent, each from its own loopback address; plain HTTP to the in-process app`;
  return [
    { section: "login", name: `argon2id hashes/s, 1 at a time (${params})`, value: ours1, unit: "hash/s", baseline: { name: "library defaults", value: lib1 }, note: `${HASHES} hashes` },
    { section: "login", name: `argon2id hashes/s, 4 at a time (${params})`, value: ours4, unit: "hash/s", baseline: { name: "library defaults", value: lib4 }, note: "4 = libuv's default thread pool, which runs the hashes" },
    { section: "login", name: "login p50", value: percentile(logins.latencies, 50), unit: "ms", baseline: { name: baseName, value: percentile(health.latencies, 50) }, note },
    { section: "login", name: "login p99", value: percentile(logins.latencies, 99), unit: "ms", baseline: { name: baseName, value: percentile(health.latencies, 99) }, note },
    { section: "login", name: "logins/s", value: (logins.latencies.length / logins.ms) * 1000, unit: "req/s", baseline: { name: baseName, value: (health.latencies.length / health.ms) * 1000 } },
  ];
}
