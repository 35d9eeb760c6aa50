import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleApi, hashDirectory, renderDockerfile } from "../../app/build";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { Client } from "pg";
import { hashPassword } from "../../app/src/auth/password";
import { freePort } from "../support/net";
import { startPostgres, type TestPostgres } from "../support/postgres";
import { API_HOST, send, strongPassword, writeEnv } from "./helpers";

let pg: TestPostgres;
let out: string;
let secrets: string;
let bundle: { contextDir: string; contentHash: string };

function runNode(script: string, env: Record<string, string>): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [join(bundle.contextDir, script)], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "krc-bundle-"));
  [pg, bundle] = await Promise.all([startPostgres(), bundleApi({ outDir: join(out, "api") })]);
  secrets = mkdtempSync(join(tmpdir(), "krc-bundle-secrets-"));
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  rmSync(out, { recursive: true, force: true });
  rmSync(secrets, { recursive: true, force: true });
});

describe("bundleApi", () => {
  it("writes the Dockerfile, three entry points and only the native argon2 packages", () => {
    const dockerfile = readFileSync(join(bundle.contextDir, "Dockerfile"), "utf8");
    const copy = mkdtempSync(join(tmpdir(), "krc-bundle-code-"));
    try {
      cpSync(bundle.contextDir, copy, { recursive: true });
      rmSync(join(copy, "Dockerfile"));
      expect(dockerfile).toBe(renderDockerfile(hashDirectory(copy)));
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
    const listing = ["server.js", "migrate.js", "healthcheck.js", "node_modules/@node-rs/argon2/index.js", "node_modules/@node-rs/argon2-linux-x64-gnu/argon2.linux-x64-gnu.node"];
    for (const file of listing) expect(() => readFileSync(join(bundle.contextDir, file))).not.toThrow();
    expect(bundle.contentHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("labels the image with the OCI keys, the code's hash as revision and krc.project when rendering the Dockerfile", () => {
    const revision = "e".repeat(64);
    const labels = renderDockerfile(revision).match(/^LABEL [\s\S]*?[^\\]\n/m)?.[0] ?? "";
    expect(labels.split(/\s*\\\n\s*|\n/).filter(Boolean)).toEqual([
      'LABEL org.opencontainers.image.title="krc-api"',
      'org.opencontainers.image.description="krc CRM API (Express), bundled by app/build.ts"',
      'org.opencontainers.image.source="app/"',
      'org.opencontainers.image.vendor="krc"',
      `org.opencontainers.image.revision="${revision}"`,
      'org.opencontainers.image.base.name="${BASE_IMAGE}"',
      'krc.project="krc"',
    ]);
    // Redeclared after FROM, or the label would read an empty BASE_IMAGE.
    expect(renderDockerfile(revision)).toMatch(/^FROM \$\{BASE_IMAGE\}\nARG BASE_IMAGE\nLABEL /m);
    expect(renderDockerfile(revision)).not.toMatch(/created|date|time/i);
  });

  it("refuses a revision that is not a sha256 hex digest when rendering the Dockerfile", () => {
    expect(() => renderDockerfile("abc\nRUN id")).toThrow('revision must be a sha256 hex digest, got "abc\\nRUN id"');
  });

  it("returns the same content hash when the sources did not change", async () => {
    const again = await bundleApi({ outDir: join(out, "again") });
    expect(again.contentHash).toBe(bundle.contentHash);
  }, 60_000);

  it("migrates, serves, passes its healthcheck and drains on SIGTERM when run as built", async () => {
    const adminPassword = strongPassword();
    const passwordFile = join(secrets, "admin_initial_password");
    const ownerFile = join(secrets, "db_owner_password");
    writeFileSync(passwordFile, adminPassword, { mode: 0o600 });
    writeFileSync(ownerFile, pg.owner.password, { mode: 0o600 });
    const migrate = runNode("migrate.js", {
      DATABASE_HOST: pg.host, DATABASE_PORT: String(pg.port), DATABASE_NAME: pg.database, DATABASE_USER: pg.owner.user,
      DATABASE_PASSWORD_FILE: ownerFile, APP_ROLE: pg.app.user, BOOTSTRAP_ADMIN_EMAIL: "Owner@Example.com", BOOTSTRAP_ADMIN_PASSWORD_FILE: passwordFile,
    });
    const migrated = await migrate.done;
    expect(migrated.stderr).toBe("");
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).not.toContain(adminPassword);
    expect(migrated.stdout).toContain('"bootstrapAdminCreated":true');

    const port = await freePort();
    const { env, dir } = writeEnv(pg, { PORT: String(port) });
    const server = runNode("server.js", env);
    try {
      let ready = false;
      for (let i = 0; i < 50 && !ready; i++) {
        ready = await send(`http://127.0.0.1:${port}`, "/readyz").then((r) => r.status === 200, () => false);
        if (!ready) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready).toBe(true);
      expect((await runNode("healthcheck.js", { PORT: String(port), ALLOWED_HOSTS: API_HOST }).done).code).toBe(0);

      const login = await send(`http://127.0.0.1:${port}`, "/auth/login", { json: { email: "owner@example.com", password: adminPassword } });
      expect(login.status).toBe(200);
      expect(login.body.user.mustChangePassword).toBe(true);
      const blocked = await send(`http://127.0.0.1:${port}`, "/clients", { token: String(login.body.token) });
      expect(blocked.status).toBe(403);
      expect(blocked.body.error.code).toBe("password_change_required");

      server.child.kill("SIGTERM");
      const ended = await server.done;
      expect(ended.code).toBe(0);
      expect(ended.stdout).toContain('"msg":"stopped"');
      expect(ended.stdout).not.toContain(adminPassword);
      expect(ended.stdout).not.toContain(String(login.body.token));
      expect((await runNode("healthcheck.js", { PORT: String(port), ALLOWED_HOSTS: API_HOST }).done).code).toBe(1);
    } finally {
      server.child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("delivers an event whose API process was killed mid-delivery once a new process starts", async () => {
    const seen: IncomingMessage["headers"][] = [];
    const receiver = createHttpServer((req, res) => {
      req.resume();
      seen.push(req.headers);
      // The first delivery never gets an answer: the process sending it dies first.
      if (seen.length > 1) res.end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const receiverPort = (receiver.address() as AddressInfo).port;
    const owner = new Client({ host: pg.host, port: pg.port, database: pg.database, user: pg.owner.user, password: pg.owner.password });
    await owner.connect();
    const password = strongPassword();
    await owner.query("INSERT INTO users (email, role, password_hash) VALUES ('outbox-staff@example.com', 'staff', $1)", [await hashPassword(password)]);
    const port = await freePort();
    const { env, dir } = writeEnv(pg, { PORT: String(port), ZAPIER_OUTBOUND_URLS: `http://127.0.0.1:${receiverPort}/hook`, OUTBOX_POLL_MS: "50", OUTBOX_LEASE_SECONDS: "2" });
    const base = `http://127.0.0.1:${port}`;
    const startServer = async () => {
      const server = runNode("server.js", env);
      for (let i = 0; i < 100; i++) {
        if (await send(base, "/readyz").then((r) => r.status === 200, () => false)) return server;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error("server did not become ready");
    };
    let second: ReturnType<typeof runNode> | undefined;
    const first = await startServer();
    try {
      const token = String((await send(base, "/auth/login", { json: { email: "outbox-staff@example.com", password } })).body.token);
      const created = await send(base, "/clients", { token, json: { name: "Crash Test", phone: "6615550190" } });
      expect(created.status).toBe(201);
      for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(seen).toHaveLength(1);
      first.child.kill("SIGKILL");
      await first.done;

      second = await startServer();
      let row: { status: string; attempts: number; delivery_id: string } | undefined;
      for (let i = 0; i < 100 && row?.status !== "delivered"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        row = (await owner.query("SELECT status, attempts, delivery_id::text FROM outbox WHERE payload->'data'->>'id' = $1", [created.body.id])).rows[0];
      }
      expect(row).toMatchObject({ status: "delivered", attempts: 2 });
      expect(seen.map((h) => h["x-krc-delivery"])).toEqual([row?.delivery_id, row?.delivery_id]);
    } finally {
      first.child.kill("SIGKILL");
      second?.child.kill("SIGTERM");
      await second?.done;
      await owner.end();
      receiver.closeAllConnections();
      receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("creates the bootstrap admin only once when migrate runs again", async () => {
    const ownerFile = join(secrets, "db_owner_password");
    const passwordFile = join(secrets, "admin_initial_password");
    const again = await runNode("migrate.js", {
      DATABASE_HOST: pg.host, DATABASE_PORT: String(pg.port), DATABASE_NAME: pg.database, DATABASE_USER: pg.owner.user,
      DATABASE_PASSWORD_FILE: ownerFile, APP_ROLE: pg.app.user, BOOTSTRAP_ADMIN_EMAIL: "other@example.com", BOOTSTRAP_ADMIN_PASSWORD_FILE: passwordFile,
    }).done;
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('"applied":[],"bootstrapAdminCreated":false');
  });

  it("stops with exit 78 and names the variable and path when a secret file is missing or empty", async () => {
    const { env, dir } = writeEnv(pg);
    try {
      const missing = await runNode("server.js", { ...env, JWT_SIGNING_KEY_FILE: "/nonexistent/jwt_signing_key" }).done;
      expect(missing.code).toBe(78);
      expect(missing.stderr).toContain("JWT_SIGNING_KEY_FILE points to /nonexistent/jwt_signing_key, which cannot be read (ENOENT)");
      const empty = join(dir, "empty");
      writeFileSync(empty, "\n");
      const blank = await runNode("server.js", { ...env, ZAPIER_HMAC_SECRET_FILE: empty }).done;
      expect(blank.code).toBe(78);
      expect(blank.stderr).toContain(`ZAPIER_HMAC_SECRET_FILE points to ${empty}, which is empty`);
      const unset = await runNode("migrate.js", { ...env, APP_ROLE: "krc_app", BOOTSTRAP_ADMIN_EMAIL: "a@example.com" }).done;
      expect(unset.code).toBe(78);
      expect(unset.stderr).toContain("BOOTSTRAP_ADMIN_PASSWORD_FILE is not set");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
