import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";
import { freePort } from "./net";

const run = promisify(execFile);

/** Debian's PostgreSQL 15 server binaries (`apt-get install -y postgresql-15`). */
export const PG_BIN = "/usr/lib/postgresql/15/bin";

/** One login role of the throwaway server. */
export interface RoleCredentials {
  readonly user: string;
  readonly password: string;
}

/** A running throwaway PostgreSQL with the project's owner and app roles and one database. */
export interface TestPostgres {
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly database: string;
  readonly superuser: RoleCredentials;
  readonly owner: RoleCredentials;
  readonly app: RoleCredentials;
  /** The server's log file. */
  readonly logFile: string;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** initdb refuses root: as root, run the server binaries as the `postgres` OS user. */
function asServerUser(): { prefix: string[]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { prefix: ["runuser", "-u", "postgres", "--"], uid, gid };
}

function secret(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * Starts PostgreSQL 15 in a temp dir on 127.0.0.1 and a free port with scram-sha-256 auth, then
 * creates the roles as the infra does: the owner owns the database; the app role gets CONNECT,
 * USAGE on schema public and, through default privileges of the owner, DML on tables and
 * USAGE/SELECT on sequences; PUBLIC loses CREATE on schema public and CONNECT on the database.
 */
export async function startPostgres(names = { owner: "krc_owner", app: "krc_app", database: "krc" }): Promise<TestPostgres> {
  if (!existsSync(join(PG_BIN, "initdb"))) {
    throw new Error(`PostgreSQL 15 server binaries not found in ${PG_BIN}: apt-get install -y postgresql-15`);
  }
  const dir = mkdtempSync(join(tmpdir(), "krc-pg-"));
  const data = join(dir, "data");
  const pwfile = join(dir, "pw");
  const superuser = { user: "postgres", password: secret() };
  writeFileSync(pwfile, superuser.password, { mode: 0o600 });
  const who = asServerUser();
  if (who.uid !== undefined && who.gid !== undefined) {
    chownSync(dir, who.uid, who.gid);
    chownSync(pwfile, who.uid, who.gid);
  }
  chmodSync(dir, 0o700);
  const exec = (binary: string, args: string[]) => {
    const [command, ...rest] = [...who.prefix, join(PG_BIN, binary), ...args];
    return run(command ?? binary, rest, { cwd: dir });
  };
  const stop = async () => {
    await exec("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await exec("initdb", ["-D", data, "-U", superuser.user, "--auth=scram-sha-256", `--pwfile=${pwfile}`, "-E", "UTF8", "--no-locale", "--no-sync"]);
    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50`;
      try {
        await exec("pg_ctl", ["start", "-D", data, "-w", "-t", "30", "-l", join(dir, "log"), "-o", options]);
        break;
      } catch (error) {
        if (attempt >= 2) throw error;
      }
    }
    const owner = { user: names.owner, password: secret() };
    const app = { user: names.app, password: secret() };
    const admin = new Client({ host: "127.0.0.1", port, user: superuser.user, password: superuser.password, database: "postgres" });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${names.owner} LOGIN PASSWORD '${owner.password}'`);
      await admin.query(`CREATE ROLE ${names.app} LOGIN PASSWORD '${app.password}'`);
      await admin.query(`CREATE DATABASE ${names.database} OWNER ${names.owner}`);
      await admin.query(`REVOKE ALL ON DATABASE ${names.database} FROM PUBLIC`);
      await admin.query(`GRANT CONNECT ON DATABASE ${names.database} TO ${names.app}`);
    } finally {
      await admin.end();
    }
    const db = new Client({ host: "127.0.0.1", port, user: superuser.user, password: superuser.password, database: names.database });
    await db.connect();
    try {
      await db.query("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
      await db.query(`GRANT USAGE ON SCHEMA public TO ${names.app}`);
      await db.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${names.owner} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${names.app}`);
      await db.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${names.owner} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${names.app}`);
    } finally {
      await db.end();
    }
    return { host: "127.0.0.1", port, database: names.database, superuser, owner, app, logFile: join(dir, "log"), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
