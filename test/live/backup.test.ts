/**
 * Backups, end to end on a stack of their own: data created through the API, `npm run backup` as
 * the read-only role over verified TLS into age, a file that holds only ciphertext and opens only
 * with the right identity, and `npm run restore` into a scratch container whose copy matches the
 * live database row for row, sequences included. Traffic goes only to 127.0.0.1 and the stack's
 * own containers.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LiveStack } from "../support/live-stack";
import type { StackJson } from "../support/harness/stackJson";

const live = new LiveStack("backuptest", { http: 38080, https: 38443 });
const ROOT = resolve(__dirname, "../..");
const run = promisify(execFile);
const TARGET = "backup_check";
const SCRATCH = `krc-${live.name}-restore-backup-check`;

let stack: StackJson;
let agent: Agent;
let dir = "";
let identity = "";
let otherIdentity = "";
let recipient = "";
let backupFile = "";
let backupOutput = "";
const adminPassword = `Bk-${randomBytes(12).toString("base64url")}-7q!`;
const clientNames = ["Quillfeather Backupcheck", "Zenobia Restorewell", "Ottoline Ciphersmith"].map((n) => `${n} ${randomBytes(3).toString("hex")}`);

/** Runs `npm run <script>` from the repository root; resolves with its exit code and output. */
function npmRun(script: "backup" | "restore", args: readonly string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    const child = spawn("npm", ["run", "-s", script, "--", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => done({ code: code ?? 1, out }));
  });
}

async function api(method: "GET" | "POST", path: string, token?: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const url = new URL(stack.url);
  const res = await request(`https://127.0.0.1:${url.port}${path}`, {
    method,
    dispatcher: agent,
    headers: { host: url.host, ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Seeds clients and check-ins through the API as the bootstrap admin, after its forced password change. */
async function seed(): Promise<void> {
  const login = await api("POST", "/auth/login", undefined, { email: stack.adminEmail, password: stack.adminPassword });
  expect(login.status).toBe(200);
  const changed = await api("POST", "/auth/password", login.json["token"] as string, { currentPassword: stack.adminPassword, newPassword: adminPassword });
  expect(changed.status).toBe(200);
  const token = changed.json["token"] as string;
  for (const [i, name] of clientNames.entries()) {
    const created = await api("POST", "/clients", token, { name, phone: `(661) 555-01${String(10 + i)}`, email: `client${i}@example.com` });
    expect(created.status).toBe(201);
    for (let visit = 0; visit <= i; visit += 1) expect((await api("POST", "/checkins", token, { clientId: created.json["id"] })).status).toBe(201);
  }
}

/** SQL on the live database as the read-only role, TLS verified against the stack's CA. */
async function liveQuery(text: string): Promise<Record<string, unknown>[]> {
  const role = stack.postgres.roles["readonly"];
  if (!role) throw new Error(`${live.stackJsonPath}: postgres.roles.readonly is missing`);
  const client = new Client({
    host: stack.postgres.host,
    port: stack.postgres.port,
    database: stack.postgres.database,
    user: role.user,
    password: role.password,
    ssl: { ca: readFileSync(stack.postgres.caCert, "utf8"), servername: `krc-${stack.stack}-db` },
  });
  await client.connect();
  try {
    return (await client.query(text)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

/** psql in the scratch container as its superuser (peer identity); rows as `a|b` lines. */
async function scratchQuery(sql: string): Promise<string[]> {
  const { stdout } = await run("docker", ["exec", "-u", "999", SCRATCH, "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", TARGET, "-c", sql]);
  return stdout.trim().split("\n").filter((l) => l !== "");
}

const COUNTS_SQL = "SELECT relname AS t, (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM public.%I', relname), false, true, '')))[1]::text::int AS n FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY relname";
const SEQUENCES_SQL = "SELECT sequencename AS s, coalesce(last_value, 0) AS v FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename";
const CLIENTS_SQL = "SELECT id, name, phone, email FROM clients ORDER BY id";

/** Decrypts `file` with `id`; resolves with the first bytes of the plaintext, or age's error. */
function decryptHead(id: string, file: string): Promise<{ code: number; head: Buffer; err: string }> {
  return new Promise((done) => {
    const age = spawn("age", ["--decrypt", "--identity", id, file], { stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let err = "";
    age.stdout.on("data", (d: Buffer) => chunks.push(d));
    age.stderr.on("data", (d: Buffer) => (err += d.toString()));
    age.on("close", (code) => done({ code: code ?? 1, head: Buffer.concat(chunks).subarray(0, 5), err }));
  });
}

/** Waits for the container's healthcheck to report healthy (the API after a restart). */
async function waitHealthy(container: string): Promise<void> {
  for (let i = 0; i < 120; i += 1) {
    const { stdout } = await run("docker", ["inspect", "--format", "{{.State.Health.Status}}", container]);
    if (stdout.trim() === "healthy") return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${container} did not become healthy within 120 s`);
}

async function removeScratch(): Promise<void> {
  await run("docker", ["rm", "-f", "-v", SCRATCH]).catch(() => undefined);
  await run("docker", ["volume", "rm", SCRATCH]).catch(() => undefined);
}

beforeAll(async () => {
  await live.reset();
  await live.upOrThrow();
  stack = live.load();
  agent = new Agent({ connect: { ca: readFileSync(stack.caCert, "utf8"), servername: new URL(stack.url).hostname } });
  dir = mkdtempSync(join(tmpdir(), "krc-backup-live-"));
  identity = join(dir, "backup-identity.txt");
  otherIdentity = join(dir, "other-identity.txt");
  await run("age-keygen", ["-o", identity]);
  await run("age-keygen", ["-o", otherIdentity]);
  recipient = (await run("age-keygen", ["-y", identity])).stdout.trim();
  backupFile = join(dir, "krc.dump.age");
  await seed();
  const backup = await npmRun("backup", ["--stack-json", live.stackJsonPath, "--recipient", recipient, "--out", backupFile]);
  backupOutput = backup.out;
  if (backup.code !== 0) throw new Error(`npm run backup exited ${backup.code}:\n${backup.out}`);
});

afterAll(async () => {
  await agent?.close();
  await removeScratch();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
  const down = await live.down();
  await live.reset();
  if (down.code !== 0) throw new Error(`harness down ${live.name} failed:\n${down.stdout}\n${down.stderr}`);
});

describe("npm run backup", () => {
  it("writes only age ciphertext, private to its owner, when it backs up the live database", () => {
    const bytes = readFileSync(backupFile);
    expect(bytes.subarray(0, 22).toString()).toBe("age-encryption.org/v1\n");
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);
    const text = bytes.toString("latin1");
    for (const plain of ["PGDMP", "clients", "audit_log", "krc_owner", "CREATE TABLE", ...clientNames]) expect(text, plain).not.toContain(plain);
    // Nothing but the backup is left next to it: no plaintext, no partial file.
    expect(readdirSync(dir).sort()).toEqual(["backup-identity.txt", "krc.dump.age", "other-identity.txt"]);
  });

  it("never prints a password when it reports the backup", () => {
    expect(backupOutput).toContain(`backup: wrote ${backupFile}`);
    for (const role of Object.values(stack.postgres.roles)) expect(backupOutput).not.toContain(role.password);
  });

  it("logs in as the read-only role over TLS 1.3 when it dumps", async () => {
    const { stdout, stderr } = await run("docker", ["logs", `krc-${stack.stack}-db`]);
    const lines = `${stdout}\n${stderr}`.split("\n").filter((l) => l.includes("application_name=krc-backup") && l.includes("connection authorized"));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/user=krc_readonly database=krc application_name=krc-backup SSL enabled \(protocol=TLSv1\.3/);
  });

  it("leaves no backup container behind when it is done", async () => {
    const { stdout } = await run("docker", ["ps", "-a", "--filter", `label=krc.stack=${live.name}`, "--filter", "label=krc.service=backup", "--format", "{{.Names}}"]);
    expect(stdout.trim()).toBe("");
  });

  it("leaves no file and exits 1 when pg_dump cannot log in", async () => {
    const wrong = join(dir, "wrong-password-stack.json");
    const json = JSON.parse(readFileSync(live.stackJsonPath, "utf8")) as StackJson;
    const roles = { ...json.postgres.roles, readonly: { user: "krc_readonly", password: `wrong-${randomBytes(8).toString("hex")}` } };
    writeFileSync(wrong, JSON.stringify({ ...json, postgres: { ...json.postgres, roles } }), { mode: 0o600 });
    const out = join(dir, "failed.dump.age");
    const result = await npmRun("backup", ["--stack-json", wrong, "--recipient", recipient, "--out", out]);
    rmSync(wrong);
    expect(result.code).toBe(1);
    expect(result.out).toContain('password authentication failed for user "krc_readonly"');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it("refuses to overwrite a backup and exits 2 when --out exists", async () => {
    const before = readFileSync(backupFile);
    const result = await npmRun("backup", ["--stack-json", live.stackJsonPath, "--recipient", recipient, "--out", backupFile]);
    expect(result.code).toBe(2);
    expect(result.out).toContain(`backup: --out ${backupFile} already exists: a backup is never overwritten; choose a new file name`);
    expect(readFileSync(backupFile).equals(before)).toBe(true);
  });
});

describe("decryption", () => {
  it("yields a pg_dump custom-format archive when the identity is the recipient's", async () => {
    const right = await decryptHead(identity, backupFile);
    expect(right.code).toBe(0);
    expect(right.head.toString()).toBe("PGDMP");
  });

  it("fails when the identity is another key", async () => {
    const wrong = await decryptHead(otherIdentity, backupFile);
    expect(wrong.code).not.toBe(0);
    expect(wrong.head.length).toBe(0);
    expect(wrong.err).toContain("no identity matched any of the recipients");
  });
});

describe("npm run restore", () => {
  it("refuses another identity and starts no container when the identity does not match", async () => {
    const result = await npmRun("restore", ["--stack-json", live.stackJsonPath, "--identity", otherIdentity, "--in", backupFile, "--target-database", TARGET]);
    expect(result.code).toBe(1);
    expect(result.out).toContain(`restore: age cannot decrypt ${backupFile} with ${otherIdentity}`);
    const { stdout } = await run("docker", ["ps", "-a", "--filter", `label=krc.stack=${live.name}`, "--filter", "label=krc.service=restore", "--format", "{{.Names}}"]);
    expect(stdout.trim()).toBe("");
  });

  it("restores into a scratch container whose tables, rows and sequences match the live database", async () => {
    const result = await npmRun("restore", ["--stack-json", live.stackJsonPath, "--identity", identity, "--in", backupFile, "--target-database", TARGET]);
    if (result.code !== 0) throw new Error(`npm run restore exited ${result.code}:\n${result.out}`);
    expect(result.out).toContain(`restored into database ${TARGET} of the scratch container ${SCRATCH}`);

    const liveCounts = (await liveQuery(COUNTS_SQL)).map((r) => `${String(r["t"])}|${String(r["n"])}`);
    expect(liveCounts).toContain("clients|3");
    expect(liveCounts).toContain("checkins|6");
    expect(await scratchQuery(COUNTS_SQL)).toEqual(liveCounts);

    const liveSequences = (await liveQuery(SEQUENCES_SQL)).map((r) => `${String(r["s"])}|${String(r["v"])}`);
    expect(liveSequences.find((s) => s.startsWith("audit_log_id_seq|"))).not.toBe("audit_log_id_seq|0");
    expect(await scratchQuery(SEQUENCES_SQL)).toEqual(liveSequences);

    const liveClients = (await liveQuery(CLIENTS_SQL)).map((r) => [r["id"], r["name"], r["phone"], r["email"]].map(String).join("|"));
    expect(liveClients.map((c) => c.split("|")[1]).sort()).toEqual([...clientNames].sort());
    expect(await scratchQuery(CLIENTS_SQL)).toEqual(liveClients);
  });

  it("keeps the dumped owners and grants in the restored copy", async () => {
    expect(await scratchQuery("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")).toEqual(["krc_owner"]);
    expect(await scratchQuery("SELECT has_table_privilege('krc_readonly', 'clients', 'SELECT'), has_table_privilege('krc_readonly', 'clients', 'INSERT'), has_table_privilege('krc_app', 'audit_log', 'UPDATE')")).toEqual(["t|f|f"]);
  });

  it("runs the scratch server from the live database's image, labelled, on no network, and rejects TCP logins", async () => {
    const { stdout } = await run("docker", ["inspect", "--format", "{{.Image}} {{index .Config.Labels \"krc.stack\"}} {{.HostConfig.NetworkMode}} {{.HostConfig.ReadonlyRootfs}} {{.Config.User}}", SCRATCH, `krc-${stack.stack}-db`]);
    const [scratch, db] = stdout.trim().split("\n");
    expect(scratch?.split(" ")[0]).toBe(db?.split(" ")[0]);
    expect(scratch?.split(" ").slice(1)).toEqual([live.name, "none", "true", "999:999"]);
    const tcp = await run("docker", ["exec", "-u", "999", SCRATCH, "psql", "-X", "-h", "127.0.0.1", "-d", TARGET, "-c", "SELECT 1"]).then(
      () => "connected",
      (err: Error) => err.message,
    );
    expect(tcp).toContain("pg_hba.conf rejects connection");
    expect(existsSync(backupFile)).toBe(true);
  });
});

/**
 * The runbook's disaster-recovery block (docs/backup.md), run as written against this stack: `ssh
 * server` becomes a local shell (the test runs on the server), prod names become this stack's, and
 * the final `pulumi preview` (no Pulumi CLI here) is left out.
 */
function disasterRecoveryScript(): string {
  const doc = readFileSync(join(ROOT, "docs/backup.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Disaster recovery"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error("docs/backup.md: no sh block under Disaster recovery");
  const commands = block
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("pulumi "))
    .map((line) => line.replace(/\s+#.*$/, ""))
    .join("\n")
    .replaceAll("krc-prod-20261201T023512Z.dump.age", backupFile)
    .replaceAll("krc-backup-identity.txt", identity)
    .replaceAll("krc-prod-", `krc-${stack.stack}-`);
  return `set -eo pipefail\nssh() { shift; sh -c "$*"; }\n${commands}\n`;
}

describe("disaster recovery (docs/backup.md)", () => {
  it("brings the live database back from the backup when the runbook's commands are followed", async () => {
    const marker = `Lost After Backup ${randomBytes(3).toString("hex")}`;
    const login = await api("POST", "/auth/login", undefined, { email: stack.adminEmail, password: adminPassword });
    expect(login.status).toBe(200);
    const token = login.json["token"] as string;
    expect((await api("POST", "/clients", token, { name: marker, phone: "(661) 555-0199" })).status).toBe(201);

    const script = disasterRecoveryScript();
    expect(script).toContain(`docker stop krc-${stack.stack}-api`);
    await run("bash", ["-c", script], { cwd: dir });
    await waitHealthy(`krc-${stack.stack}-api`);

    // The backup's state: its three clients are back, the one created after it is gone.
    const relogin = await api("POST", "/auth/login", undefined, { email: stack.adminEmail, password: adminPassword });
    expect(relogin.status).toBe(200);
    const list = await api("GET", "/clients?pageSize=100", relogin.json["token"] as string);
    expect(list.status).toBe(200);
    const names = (list.json["items"] as { name: string }[]).map((c) => c.name);
    expect(names.sort()).toEqual([...clientNames].sort());
    // The read-only role can connect again (the database grants were re-applied) and sees the same.
    expect(await liveQuery("SELECT count(*)::int AS n FROM clients")).toEqual([{ n: 3 }]);
    const { stdout } = await run("docker", ["exec", "-u", "999", `krc-${stack.stack}-db`, "psql", "-X", "-At", "-d", "postgres", "-c", "SELECT datname FROM pg_database WHERE datname LIKE 'krc_broken_%'"]);
    const broken = stdout.trim();
    expect(broken).toMatch(/^krc_broken_\d{8}$/);
    // The runbook's closing step, so the stack's own teardown can drop the owner role again.
    await run("docker", ["exec", "-u", "999", `krc-${stack.stack}-db`, "psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c", `DROP DATABASE ${broken}`]);
  });
});
