import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Pool } from "pg";
import { buildApp } from "../../app/src/app";
import { hashPassword } from "../../app/src/auth/password";
import type { Role } from "../../app/src/auth/types";
import { loadConfig, type AppConfig } from "../../app/src/config";
import { runMigrations } from "../../app/src/db/migrator";
import { createLogger } from "../../app/src/logger";
import { startPostgres, type TestPostgres } from "../support/postgres";

/** Hosts the test API serves; requests default to the first. */
export const API_HOST = "api.krc.localhost";
export const KIOSK_HOST = "kiosk.krc.localhost";
export const ALLOWED_ORIGIN = "https://kiosk.krc.localhost";

/** A parsed JSON value seen loosely, so tests can walk into it and let expect() judge it. */
export interface Json {
  readonly [key: string]: Json;
  // Named members the tests walk through: declared so strict index checks do not get in the way.
  readonly error: Json;
  readonly details: Json;
  readonly user: Json;
  readonly items: Json;
  readonly 0: Json;
  readonly 1: Json;
}

/** A response read whole. */
export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** Parsed JSON body (walk it freely; assertions check the real values), or {} when not JSON. */
  readonly body: Json;
}

/** A request: `json` is serialized with the JSON content type; `raw` is sent byte for byte. */
export interface Call {
  readonly method?: string;
  readonly token?: string;
  readonly json?: unknown;
  readonly raw?: string | Buffer;
  readonly headers?: Record<string, string>;
}

/** The API under test on a real listener and a real PostgreSQL. */
export interface TestApi {
  readonly url: string;
  readonly config: AppConfig;
  readonly pg: TestPostgres;
  /** Connected as the owner role (test arrangement and inspection only). */
  readonly ownerPool: Pool;
  /** The app's own pool (app role). */
  readonly appPool: Pool;
  /** Every JSON log line the app wrote. */
  readonly logs: string[];
  call(path: string, call?: Call): Promise<Reply>;
  createUser(role: Role, options?: { mustChangePassword?: boolean; disabled?: boolean }): Promise<{ id: string; email: string; password: string }>;
  login(email: string, password: string, headers?: Record<string, string>): Promise<string>;
  /** A user of the role, logged in. */
  loginAs(role: Role): Promise<{ id: string; email: string; password: string; token: string }>;
  /** Fingerprint of the business tables (everything but the audit log and the listed tables). */
  snapshot(exclude?: readonly string[]): Promise<Record<string, string>>;
  /** Starts another app on the same database (a restart), with extra env. */
  close(): Promise<void>;
}

/** Tables whose contents the hostile-input suite fingerprints. */
export const BUSINESS_TABLES = ["users", "clients", "checkins", "sessions", "login_throttle", "outbox", "webhook_inbound", "app_meta"] as const;

let counter = 0;

/** Writes the secret files and returns the env the API reads. */
export function writeEnv(pg: TestPostgres, extra: Record<string, string> = {}): { env: Record<string, string>; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "krc-secrets-"));
  const file = (name: string, value: string) => {
    const path = join(dir, name);
    writeFileSync(path, `${value}\n`, { mode: 0o600 });
    return path;
  };
  const env = {
    PORT: "8080",
    DATABASE_HOST: pg.host,
    DATABASE_PORT: String(pg.port),
    DATABASE_NAME: pg.database,
    DATABASE_USER: pg.app.user,
    DATABASE_PASSWORD_FILE: file("db_app_password", pg.app.password),
    JWT_SIGNING_KEY_FILE: file("jwt_signing_key", randomBytes(32).toString("hex")),
    SECRET_KEY_FILE: file("secret_key", randomBytes(32).toString("hex")),
    ZAPIER_HMAC_SECRET_FILE: file("zapier_hmac_secret", randomBytes(32).toString("base64")),
    JWT_ISSUER: "https://api.krc.localhost",
    JWT_AUDIENCE: "krc-api",
    ALLOWED_HOSTS: `${API_HOST},${KIOSK_HOST}`,
    CORS_ORIGINS: `https://api.krc.localhost,${ALLOWED_ORIGIN}`,
    TRUST_PROXY_HOPS: "1",
    LOG_LEVEL: "info",
    ...extra,
  };
  return { env, dir };
}

/** Sends one HTTP request to the listener with full control of headers (Host included). */
export function send(base: string, path: string, call: Call = {}): Promise<Reply> {
  const url = new URL(path, base);
  const headers: Record<string, string> = { host: API_HOST, ...(call.headers ?? {}) };
  let body: Buffer | undefined;
  if (call.json !== undefined) {
    body = Buffer.from(JSON.stringify(call.json));
    headers["content-type"] ??= "application/json";
  } else if (call.raw !== undefined) {
    body = Buffer.isBuffer(call.raw) ? call.raw : Buffer.from(call.raw);
  }
  if (body) headers["content-length"] = String(body.length);
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: call.method ?? (body ? "POST" : "GET"), headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = {};
        try {
          parsed = text === "" ? {} : JSON.parse(text);
        } catch {
          parsed = {};
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed as Json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A password that meets the policy and is unique per call. */
export function strongPassword(): string {
  return `Tq${randomBytes(6).toString("hex")}#9Zx`;
}

/** Starts PostgreSQL, migrates it as the owner, and serves the app on 127.0.0.1:0. */
export async function startTestApi(extraEnv: Record<string, string> = {}): Promise<TestApi> {
  const pg = await startPostgres();
  try {
    return await serve(pg, extraEnv);
  } catch (error) {
    await pg.stop();
    throw error;
  }
}

async function serve(pg: TestPostgres, extraEnv: Record<string, string>): Promise<TestApi> {
  const ownerPool = new Pool({ host: pg.host, port: pg.port, database: pg.database, user: pg.owner.user, password: pg.owner.password, max: 3 });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString("utf8").split("\n").filter((line) => line !== ""));
      done();
    },
  });
  const logger = createLogger("info", sink);
  const owner = await ownerPool.connect();
  try {
    await runMigrations(owner, pg.app.user, logger);
  } finally {
    owner.release();
  }
  const { env, dir } = writeEnv(pg, extraEnv);
  const config = loadConfig(env);
  const appPool = new Pool({ host: pg.host, port: pg.port, database: pg.database, user: pg.app.user, password: pg.app.password, max: 5 });
  const server: Server = buildApp({ config, pool: appPool, logger }).listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const api: TestApi = {
    url,
    config,
    pg,
    ownerPool,
    appPool,
    logs,
    call: (path, call) => send(url, path, call),
    async createUser(role, options = {}) {
      const email = `${role}${++counter}-${randomBytes(3).toString("hex")}@example.com`;
      const password = strongPassword();
      const { rows } = await ownerPool.query<{ id: string }>(
        "INSERT INTO users (email, role, password_hash, must_change_password, disabled) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        [email, role, await hashPassword(password), options.mustChangePassword ?? false, options.disabled ?? false],
      );
      return { id: rows[0]?.id ?? "", email, password };
    },
    async login(email, password, headers) {
      // A distinct forwarded address per login keeps the per-address limiter out of unrelated tests.
      const reply = await send(url, "/auth/login", { json: { email, password }, headers: { "x-forwarded-for": `198.51.100.${(counter++ % 250) + 1}`, ...headers } });
      if (reply.status !== 200) throw new Error(`login failed with ${reply.status}: ${reply.text}`);
      return String(reply.body.token);
    },
    async loginAs(role) {
      const user = await api.createUser(role);
      return { ...user, token: await api.login(user.email, user.password) };
    },
    async snapshot(exclude = []) {
      const result: Record<string, string> = {};
      for (const table of BUSINESS_TABLES) {
        if (exclude.includes(table)) continue;
        const { rows } = await ownerPool.query<{ digest: string | null; n: string }>(`SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS digest, count(*) AS n FROM ${table} t`);
        result[table] = `${rows[0]?.n}:${rows[0]?.digest ?? "-"}`;
      }
      return result;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await appPool.end();
      await ownerPool.end();
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return api;
}
