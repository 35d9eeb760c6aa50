import { createHash } from "node:crypto";
import type { ClientBase } from "pg";
import type { Logger } from "pino";
import { MIGRATIONS, type Migration } from "./migrations";

/** Any fixed number: every migrator takes the same session lock, so two never run at once. */
const LOCK_KEY = 7_314_201;

function checksum(migration: Migration): string {
  return createHash("sha256").update(migration.sql).digest("hex");
}

/**
 * Applies every pending migration, each in its own transaction, under an advisory lock, then
 * re-asserts the app role's narrowed privileges on the audit table. Runs as the owner role.
 * Throws when an applied migration's text no longer matches what was applied.
 */
export async function runMigrations(client: ClientBase, appRole: string, logger: Logger, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const applied: number[] = [];
  await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number; checksum: string }>("SELECT version, checksum FROM schema_migrations");
    const done = new Map(rows.map((row) => [row.version, row.checksum]));
    for (const migration of migrations) {
      const stored = done.get(migration.version);
      if (stored !== undefined) {
        if (stored !== checksum(migration)) {
          throw new Error(`migration ${migration.version} (${migration.name}) was changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await client.query("BEGIN");
      try {
        await client.query(migration.sql);
        await client.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [migration.version, migration.name, checksum(migration)]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      }
      logger.info({ version: migration.version, name: migration.name }, "migration applied");
      applied.push(migration.version);
    }
    // Default privileges gave the app role full DML on every table; the audit log is insert-and-read.
    const role = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [appRole]);
    if (role.rowCount !== 1) throw new Error(`APP_ROLE ${JSON.stringify(appRole)} does not exist in the database`);
    const ident = client.escapeIdentifier(appRole);
    await client.query(`REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM ${ident}`);
    await client.query(`GRANT SELECT, INSERT ON audit_log TO ${ident}`);
    await client.query(`REVOKE ALL ON schema_migrations FROM ${ident}`);
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]);
  }
  return applied;
}
