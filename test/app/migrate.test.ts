import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { purgeExpired } from "../../app/src/db/housekeeping";
import { runMigrations } from "../../app/src/db/migrator";
import { MIGRATIONS } from "../../app/src/db/migrations";
import { createLogger } from "../../app/src/logger";
import { ensureBootstrapAdmin } from "../../app/src/users/bootstrap";
import { startPostgres, type TestPostgres } from "../support/postgres";

let pg: TestPostgres;
let owner: Client;
const logger = createLogger("silent");

beforeAll(async () => {
  pg = await startPostgres();
  owner = new Client({ host: pg.host, port: pg.port, database: pg.database, user: pg.owner.user, password: pg.owner.password });
  await owner.connect();
}, 60_000);
afterAll(async () => {
  await owner?.end();
  await pg?.stop();
});

describe("migrations", () => {
  it("applies every migration once, in order, and nothing on the second run", async () => {
    expect(await runMigrations(owner, pg.app.user, logger)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await runMigrations(owner, pg.app.user, logger)).toEqual([]);
    const { rows } = await owner.query("SELECT version FROM schema_migrations ORDER BY version");
    expect(rows.map((r: { version: number }) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it("refuses to run when an applied migration's text was changed", async () => {
    const edited = MIGRATIONS.map((m) => (m.version === 1 ? { ...m, sql: `${m.sql}\n-- edited` } : m));
    await expect(runMigrations(owner, pg.app.user, logger, edited)).rejects.toThrow("migration 1 (users_clients) was changed after it was applied; add a new migration instead");
  });

  it("rolls a failing migration back whole and records nothing for it", async () => {
    const broken = [...MIGRATIONS, { version: 99, name: "broken", sql: "CREATE TABLE half_done (id int); SELECT * FROM no_such_table;" }];
    await expect(runMigrations(owner, pg.app.user, logger, broken)).rejects.toThrow('relation "no_such_table" does not exist');
    const { rows } = await owner.query("SELECT to_regclass('half_done') AS t, (SELECT count(*)::int FROM schema_migrations WHERE version = 99) AS n");
    expect(rows[0]).toEqual({ t: null, n: 0 });
  });

  it("refuses an APP_ROLE that does not exist", async () => {
    await expect(runMigrations(owner, "no_such_role", logger)).rejects.toThrow('APP_ROLE "no_such_role" does not exist in the database');
  });

  it("creates the bootstrap admin once, flagged to change the password, and never again after deletion", async () => {
    expect(await ensureBootstrapAdmin(owner, "Boss@Example.com", "Generated-initial-1", logger)).toBe(true);
    const { rows } = await owner.query("SELECT email, role, must_change_password FROM users");
    expect(rows).toEqual([{ email: "boss@example.com", role: "admin", must_change_password: true }]);
    await owner.query("DELETE FROM users");
    expect(await ensureBootstrapAdmin(owner, "boss@example.com", "Generated-initial-1", logger)).toBe(false);
    expect((await owner.query("SELECT count(*)::int AS n FROM users")).rows[0]).toEqual({ n: 0 });
  });

  it("refuses a bootstrap password shorter than 12 characters", async () => {
    await expect(ensureBootstrapAdmin(owner, "x@example.com", "short", logger)).rejects.toThrow("the bootstrap admin password must be 12 to 128 characters");
  });
});

describe("housekeeping", () => {
  it("removes only stale sessions, delivery ids and throttle rows, and never audit rows", async () => {
    const { rows } = await owner.query<{ id: string }>("INSERT INTO users (email, role, password_hash) VALUES ('hk@example.com', 'staff', 'x') RETURNING id");
    const userId = rows[0]?.id;
    await owner.query("INSERT INTO sessions (user_id, expires_at) VALUES ($1, now() - interval '2 days'), ($1, now() + interval '10 minutes')", [userId]);
    await owner.query("INSERT INTO webhook_inbound (delivery_id, received_at, event) VALUES ('old-delivery', now() - interval '2 days', 'client.create'), ('new-delivery', now(), 'client.create')");
    await owner.query("INSERT INTO login_throttle (account_key, failures, last_failure_at) VALUES ('old', 3, now() - interval '2 days'), ('new', 3, now())");
    const audit = (await owner.query("SELECT count(*)::int AS n FROM audit_log")).rows[0];
    expect(await purgeExpired(owner)).toEqual({ sessions: 1, webhookInbound: 1, loginThrottle: 1 });
    expect((await owner.query("SELECT count(*)::int AS n FROM sessions")).rows[0]).toEqual({ n: 1 });
    expect((await owner.query("SELECT delivery_id FROM webhook_inbound")).rows).toEqual([{ delivery_id: "new-delivery" }]);
    expect((await owner.query("SELECT account_key FROM login_throttle")).rows).toEqual([{ account_key: "new" }]);
    expect((await owner.query("SELECT count(*)::int AS n FROM audit_log")).rows[0]).toEqual(audit);
  });
});
