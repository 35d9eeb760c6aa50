/**
 * `npm run restore`: decrypts a backup with `age -d` and streams it into `pg_restore` in a NEW,
 * throwaway PostgreSQL container (the live database's image, no network), never the live cluster.
 *
 * Why a scratch container rather than a new database in the live cluster: creating a database
 * needs CREATEDB or the superuser, and the owner role has neither on purpose; the superuser logs in
 * only from the provider's address with a client certificate. A scratch server needs no live
 * credential at all, cannot harm the live data, and gives the monthly restore test a copy to
 * compare side by side. Inside it the cluster's own superuser restores (peer identity over the
 * Unix socket; TCP is rejected and there is no network), after creating the app's role names
 * (NOLOGIN) so owners and grants restore exactly as dumped. A disaster recovery into a rebuilt
 * stack is an operator step with the stack's superuser (docs/backup.md).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { defaultTargetDatabase, type RestoreArgs } from "./args";
import { hardenedRunFlags, inspectDatabase, POSTGRES_UID } from "./docker";
import { capture, exited, mustRun } from "./proc";
import type { BackupTarget } from "./stack";

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const PASSWORD_IN_CONTAINER = "/run/secrets/postgres_password";
const READY_TIMEOUT_MS = 120_000;

/** What a finished restore reports; the scratch container stays up for inspection. */
export interface RestoreResult {
  readonly container: string;
  readonly volume: string;
  readonly database: string;
  readonly image: string;
  /** Rows per table of the restored database, `schema.table` → count. */
  readonly rowCounts: Readonly<Record<string, number>>;
}

/**
 * Fails fast, before any container exists, when `identity` cannot decrypt `input`: age reads the
 * header first, so the first plaintext byte proves the identity; the rest is discarded unread.
 */
export async function checkIdentity(identity: string, input: string): Promise<void> {
  const age = spawn("age", ["--decrypt", "--identity", identity, input], { stdio: ["ignore", "pipe", "pipe"] });
  const exit = exited(age);
  const opened = await new Promise<boolean>((resolve) => {
    age.stdout.once("data", () => resolve(true));
    age.stdout.once("end", () => resolve(false));
  });
  if (opened) age.kill();
  const { code, stderr } = await exit;
  if (!opened) throw new Error(`age cannot decrypt ${input} with ${identity} (exit ${code}): ${stderr || "no output"}`);
}

/** `docker exec` as the postgres user in `container`. */
function execArgs(container: string, interactive: boolean, ...command: string[]): string[] {
  return ["exec", ...(interactive ? ["-i"] : []), "-u", `${POSTGRES_UID}:${POSTGRES_UID}`, container, ...command];
}

/** SQL that recreates the app's role names and the empty target database the dump restores into. */
export function prepareSql(roleNames: readonly string[], database: string): string {
  for (const name of [...roleNames, database]) {
    if (!IDENTIFIER.test(name)) throw new Error(`${JSON.stringify(name)} is not a lower-case PostgreSQL identifier`);
  }
  const owner = roleNames[0];
  if (owner === undefined) throw new Error("no roles to create: the owner role comes first");
  return [...roleNames.map((role) => `CREATE ROLE ${role} NOLOGIN;`), `CREATE DATABASE ${database} OWNER ${owner};`, ""].join("\n");
}

/** psql that prints `schema.table|rows` for every table outside the system schemas. */
export const ROW_COUNTS_SQL = `SELECT format('SELECT %L || ''|'' || count(*) FROM %I.%I', schemaname || '.' || tablename, schemaname, tablename)
FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY schemaname, tablename
\\gexec
`;

/** Parses the output of ROW_COUNTS_SQL. */
export function parseRowCounts(out: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of out.split("\n").filter((l) => l.includes("|"))) {
    const at = line.lastIndexOf("|");
    counts[line.slice(0, at)] = Number(line.slice(at + 1));
  }
  return counts;
}

async function startScratch(name: string, image: string, stack: string): Promise<void> {
  // The superuser password is required by the image's entrypoint but is useless here (peer over the
  // socket only): random, on a bind-mounted file, deleted as soon as the cluster is initialized.
  const dir = mkdtempSync(join(tmpdir(), "krc-restore-"));
  const passwordFile = join(dir, "postgres_password");
  try {
    // As root the file goes to the container's user; otherwise it must be world-readable (in a 0700 directory).
    const root = process.getuid?.() === 0;
    writeFileSync(passwordFile, randomBytes(24).toString("base64url"), { mode: root ? 0o400 : 0o444 });
    if (root) chownSync(passwordFile, POSTGRES_UID, POSTGRES_UID);
    await mustRun("docker volume create", "docker", ["volume", "create", "--label", "krc.project=krc", "--label", `krc.stack=${stack}`, "--label", "krc.service=restore", name]);
    await mustRun("docker run (scratch PostgreSQL)", "docker", [
      "run",
      "-d",
      "--name",
      name,
      "--network",
      "none",
      ...hardenedRunFlags(stack, "restore"),
      "--tmpfs",
      `/run/postgresql:uid=${POSTGRES_UID},gid=${POSTGRES_UID},size=1m`,
      "--tmpfs",
      `/tmp:uid=${POSTGRES_UID},gid=${POSTGRES_UID}`,
      "--mount",
      `type=volume,src=${name},dst=/var/lib/postgresql/data`,
      "--mount",
      `type=bind,src=${passwordFile},dst=${PASSWORD_IN_CONTAINER},readonly`,
      "--env",
      `POSTGRES_PASSWORD_FILE=${PASSWORD_IN_CONTAINER}`,
      "--env",
      "POSTGRES_INITDB_ARGS=--auth-local=peer --auth-host=reject",
      image,
      "postgres",
    ]);
    await waitReady(name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits until the final server (not the entrypoint's socket-only setup server) answers on TCP. */
async function waitReady(name: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if ((await capture("docker", execArgs(name, false, "pg_isready", "-q", "-h", "127.0.0.1"))).code === 0) return;
    const state = await capture("docker", ["inspect", "--format", "{{.State.Running}}", name]);
    if (state.stdout.trim() !== "true") {
      const logs = await capture("docker", ["logs", "--tail", "20", name]);
      throw new Error(`the scratch PostgreSQL ${name} stopped during start-up:\n${logs.stderr || logs.stdout}`);
    }
    await sleep(500);
  }
  throw new Error(`the scratch PostgreSQL ${name} was not ready within ${READY_TIMEOUT_MS / 1000} s`);
}

/** Streams `age -d` into `pg_restore` in one transaction: a failed restore leaves an empty database. */
async function streamRestore(args: RestoreArgs, container: string, database: string): Promise<void> {
  const age = spawn("age", ["--decrypt", "--identity", args.identity, args.input], { stdio: ["ignore", "pipe", "pipe"] });
  const restore = spawn("docker", execArgs(container, true, "pg_restore", "--exit-on-error", "--single-transaction", "--dbname", database), {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const [ageExit, restoreExit] = [exited(age), exited(restore)];
  restore.stdin.on("error", () => undefined);
  age.stdout.pipe(restore.stdin);
  const [a, r] = await Promise.all([ageExit, restoreExit]);
  if (a.code !== 0) throw new Error(`age --decrypt failed (exit ${a.code}): ${a.stderr || "no message"}`);
  if (r.code !== 0) throw new Error(`pg_restore failed (exit ${r.code}): ${r.stderr || "no message"}`);
}

/** Restores `args.input` into a new scratch container; removes that container again on failure. */
export async function runRestore(args: RestoreArgs, target: BackupTarget, now = new Date()): Promise<RestoreResult> {
  await checkIdentity(args.identity, args.input);
  const image = args.image ?? (await inspectDatabase(target.dbContainer)).image;
  const database = args.targetDatabase ?? defaultTargetDatabase(now);
  const sql = prepareSql(target.roleNames, database);
  const name = `krc-${target.stack}-restore-${database.replace(/_/g, "-")}`;
  const existing = await capture("docker", ["inspect", "--type", "container", name]);
  if (existing.code === 0) throw new Error(`a container named ${name} already exists: choose another --target-database or remove it (docker rm -f -v ${name})`);
  try {
    await startScratch(name, image, target.stack);
    await mustRun("creating roles and the database", "docker", execArgs(name, true, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres"), sql);
    await streamRestore(args, name, database);
    const counts = await mustRun("counting rows", "docker", execArgs(name, true, "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", database), ROW_COUNTS_SQL);
    return { container: name, volume: name, database, image, rowCounts: parseRowCounts(counts) };
  } catch (err) {
    await capture("docker", ["rm", "-f", "-v", name]);
    await capture("docker", ["volume", "rm", name]);
    throw err;
  }
}
