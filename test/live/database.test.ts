/**
 * Issue 5's live checks on a stack of its own (`dbtest`, deployed through the live harness with the
 * stand-in images, torn down at the end): every privilege is tried by acting as the role, over TLS
 * verified against the stack's database CA, from the Docker host (inside the internal network's
 * subnet). Superuser work (a fresh role, the settings) goes through the database container's own
 * socket, as an operator's `docker exec` would. The rotation checks redeploy with new versions.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { Client, type ClientConfig } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rotateSuperuserPasswordSql } from "../../infra/components/roles";
import { DEFAULT_ACCESS_LIMITS } from "../../infra/grants";
import { LiveStack } from "../support/live-stack";
import type { StackJson } from "../support/harness/stackJson";

const live = new LiveStack("dbtest", { http: 28080, https: 28443 });
const STACK_JSON = live.stackJsonPath;
const run = promisify(execFile);

type Stack = StackJson;
type Role = { user: string; password: string };

/** Deploys (or updates) the test stack: the dev config on its own ports, plus `key=value` overrides. */
async function up(sets: readonly string[] = []): Promise<void> {
  await live.upOrThrow(...sets);
  stack = loadStack();
}

function loadStack(): Stack {
  const loaded = live.load();
  for (const key of ["owner", "app", "readonly", "superuser"]) {
    if (!loaded.postgres.roles[key]) throw new Error(`${STACK_JSON}: postgres.roles.${key} is missing`);
  }
  return loaded;
}

let stack: Stack;
let dbContainer = "";
let ca = "";
const probe = `live_probe_${randomBytes(4).toString("hex")}`;

/** The server's DNS name on the internal network, which its certificate names. */
const serverName = (): string => `krc-${stack.stack}-db`;

function as(role: string, overrides: Partial<ClientConfig> = {}): ClientConfig {
  const credentials = stack.postgres.roles[role] as Role;
  return {
    host: stack.postgres.host,
    port: stack.postgres.port,
    user: credentials.user,
    password: credentials.password,
    database: stack.postgres.database,
    // verify-full against the server's DNS name while dialling its address from the host.
    ssl: { ca, servername: serverName() },
    connectionTimeoutMillis: 10_000,
    ...overrides,
  };
}

async function query(config: ClientConfig, text: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new Client(config);
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** psql as the superuser through the container's Unix socket (peer identity), SQL on stdin. */
async function superuserSql(sql: string, database = "postgres"): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("docker", ["exec", "-i", "-u", "999", dbContainer, "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", database]);
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("close", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`psql in ${dbContainer} exited ${String(code)}: ${err.trim()}`))));
    child.stdin.end(sql);
  });
}

beforeAll(async () => {
  // Leftovers of an interrupted run: objects by label, and the state that describes them.
  await live.reset();
  await up();
  const found = stack.containers.find((name) => name.endsWith("-db"));
  if (!found) throw new Error(`${STACK_JSON}: no database container in containers`);
  dbContainer = found;
  ca = readFileSync(stack.postgres.caCert, "utf8");
  // A table the owner creates after the deploy, as a later migration would.
  await query(as("owner"), `CREATE TABLE ${probe} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL)`);
});

afterAll(async () => {
  // A destroy must succeed on its own: roles holding privileges in the app database cannot be
  // dropped before it, so the program orders them.
  const down = await live.down();
  // reset() also removes the state directory, which holds the database certificates and the
  // superuser's client key.
  await live.reset();
  if (down.code !== 0) throw new Error(`harness down ${live.name} failed:\n${down.stdout}\n${down.stderr}`);
});

describe("acting as app", () => {
  it("reads and writes a table the owner created after the deploy", async () => {
    const [row] = await query(as("app"), `INSERT INTO ${probe} (body) VALUES ('a') RETURNING id`);
    expect(row?.["id"]).toBeDefined();
    expect(await query(as("app"), `UPDATE ${probe} SET body = 'b' WHERE id = $1 RETURNING body`, [row?.["id"]])).toEqual([{ body: "b" }]);
    expect(await query(as("app"), `SELECT body FROM ${probe} WHERE id = $1`, [row?.["id"]])).toEqual([{ body: "b" }]);
    expect(await query(as("app"), `DELETE FROM ${probe} WHERE id = $1 RETURNING body`, [row?.["id"]])).toEqual([{ body: "b" }]);
  });

  it.each([
    ["CREATE TABLE", "CREATE TABLE live_app_table (x int)", /permission denied for schema public/],
    ["CREATE SCHEMA", "CREATE SCHEMA live_app_schema", /permission denied for database/],
    ["ALTER", `ALTER TABLE ${probe} ADD COLUMN x int`, /must be owner of table/],
    ["DROP", `DROP TABLE ${probe}`, /must be owner of table/],
    ["TRUNCATE", `TRUNCATE ${probe}`, /permission denied for table/],
    ["a temporary table", "CREATE TEMP TABLE live_tmp (x int)", /permission denied to create temporary tables/],
    ["reading pg_authid", "SELECT rolpassword FROM pg_authid", /permission denied for table pg_authid/],
    ["UPDATE on audit rows", "UPDATE audit_log SET action = 'x'", /permission denied for table audit_log/],
    ["DELETE on audit rows", "DELETE FROM audit_log", /permission denied for table audit_log/],
  ])("is refused %s", async (_what, sql, error) => {
    await expect(query(as("app"), sql)).rejects.toThrow(error);
  });

  it("may insert and read audit rows", async () => {
    await expect(query(as("app"), "SELECT count(*) FROM audit_log")).resolves.toHaveLength(1);
    const privileges = await query(as("app"), "SELECT privilege_type FROM information_schema.role_table_grants WHERE table_name = 'audit_log' AND grantee = current_user ORDER BY 1");
    expect(privileges.map((p) => p["privilege_type"])).toEqual(["INSERT", "SELECT"]);
  });

  it.each(["postgres", "template1"])("cannot connect to %s", async (database) => {
    await expect(query(as("app", { database }), "SELECT 1")).rejects.toThrow(/no pg_hba.conf entry|permission denied for database/);
  });

  it("logs in with its statement and idle-in-transaction timeouts and is in no other role", async () => {
    const [row] = await query(
      as("app"),
      "SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i, (SELECT count(*)::int FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = current_user) AS memberships",
    );
    expect(row).toEqual({ s: "15s", i: "30s", memberships: 0 });
  });
});

describe("acting as readonly", () => {
  it("reads the owner's new table and the API's tables", async () => {
    await expect(query(as("readonly"), `SELECT count(*) FROM ${probe}`)).resolves.toHaveLength(1);
    await expect(query(as("readonly"), "SELECT count(*) FROM clients")).resolves.toHaveLength(1);
  });

  it.each([
    ["INSERT", `INSERT INTO ${probe} (body) VALUES ('x')`],
    ["UPDATE", `UPDATE ${probe} SET body = 'x'`],
    ["DELETE", `DELETE FROM ${probe}`],
    ["CREATE TABLE", "CREATE TABLE live_ro_table (x int)"],
  ])("is refused %s", async (_what, sql) => {
    await expect(query(as("readonly"), sql)).rejects.toThrow(/permission denied/);
  });
});

describe("PUBLIC and strangers", () => {
  const fresh = `live_fresh_${randomBytes(4).toString("hex")}`;
  const freshPassword = randomBytes(18).toString("hex");

  afterAll(async () => {
    await superuserSql(`DROP ROLE IF EXISTS ${fresh};`).catch(() => undefined);
  });

  it("refuses a fresh role with LOGIN and no grants a connection to the app database", async () => {
    await superuserSql(`SET log_statement = 'none';\nCREATE ROLE ${fresh} LOGIN PASSWORD '${freshPassword}';`);
    const config = { ...as("app"), user: fresh, password: freshPassword };
    await expect(query(config, "SELECT 1")).rejects.toThrow(/no pg_hba.conf entry|permission denied for database/);
    // And not only pg_hba: PUBLIC holds no CONNECT the fresh role could inherit.
    expect(await superuserSql(`SELECT has_database_privilege('${fresh}', '${stack.postgres.database}', 'CONNECT');`)).toBe("f");
  });

  it.each(["krc", "postgres", "template1"])("leaves PUBLIC no privilege on database %s", async (database) => {
    expect(await superuserSql(`SELECT count(*) FROM pg_database, aclexplode(datacl) a WHERE datname = '${database === "krc" ? stack.postgres.database : database}' AND a.grantee = 0;`)).toBe("0");
  });

  it("leaves PUBLIC no privilege on schema public", async () => {
    expect(await superuserSql("SELECT count(*) FROM pg_namespace, aclexplode(nspacl) a WHERE nspname = 'public' AND a.grantee = 0;", stack.postgres.database)).toBe("0");
  });

  it("names the owner in the default privileges, because the owner creates the tables", async () => {
    const owners = await superuserSql("SELECT DISTINCT pg_get_userbyid(defaclrole) FROM pg_default_acl;", stack.postgres.database);
    expect(owners).toBe(stack.postgres.roles["owner"]?.user);
  });
});

describe("encryption and server settings", () => {
  it("refuses a plaintext connection", async () => {
    await expect(query(as("app", { ssl: false }), "SELECT 1")).rejects.toThrow(/no pg_hba.conf entry .* no encryption/);
  });

  it("refuses the server when the client trusts another CA", async () => {
    const other = readFileSync(stack.caCert, "utf8");
    await expect(query(as("app", { ssl: { ca: other, servername: serverName() } }), "SELECT 1")).rejects.toThrow(/certificate/);
  });

  it("serves TLS 1.3 to app with SCRAM-hashed passwords", async () => {
    const [row] = await query(as("app"), "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    expect(row).toEqual({ ssl: true, version: "TLSv1.3" });
  });

  it.each([
    ["password_encryption", "scram-sha-256"],
    ["ssl", "on"],
    ["log_connections", "on"],
    ["log_disconnections", "on"],
    ["log_statement", "ddl"],
  ])("runs with %s = %s", async (name, value) => {
    expect(await superuserSql(`SHOW ${name};`)).toBe(value);
  });

  it("has only hostssl scram-sha-256 rules for TCP and no trust rule", async () => {
    const rules = (await superuserSql("SELECT type || ' ' || coalesce(auth_method, '') FROM pg_hba_file_rules WHERE error IS NULL;")).split("\n");
    const tcp = rules.filter((r) => r.startsWith("host"));
    // The app roles from the internal subnet, the superuser from the gateway, the healthcheck's probe.
    expect(tcp).toEqual(["hostssl scram-sha-256", "hostssl scram-sha-256", "hostssl scram-sha-256"]);
    expect(rules.some((r) => r.endsWith("trust"))).toBe(false);
  });

  it("gives each role its connection limit", async () => {
    const rows = await superuserSql(
      `SELECT rolname || '=' || rolconnlimit FROM pg_roles WHERE rolname IN ('${stack.postgres.roles["owner"]?.user}', '${stack.postgres.roles["app"]?.user}', '${stack.postgres.roles["readonly"]?.user}') ORDER BY 1;`,
    );
    expect(rows.split("\n")).toEqual(
      [
        `${stack.postgres.roles["app"]?.user}=${DEFAULT_ACCESS_LIMITS.appConnections}`,
        `${stack.postgres.roles["owner"]?.user}=${DEFAULT_ACCESS_LIMITS.ownerConnections}`,
        `${stack.postgres.roles["readonly"]?.user}=${DEFAULT_ACCESS_LIMITS.readonlyConnections}`,
      ].sort(),
    );
  });

  it("logs connections and DDL but no role password", async () => {
    const { stdout, stderr } = await run("docker", ["logs", dbContainer], { maxBuffer: 64 * 2 ** 20 });
    const log = stdout + stderr;
    expect(log).toMatch(new RegExp(`connection authorized: user=${stack.postgres.roles["app"]?.user}`));
    expect(log).toContain(`CREATE TABLE ${probe}`);
    for (const role of Object.values(stack.postgres.roles)) expect(log).not.toContain(role.password);
  });
});

describe("the superuser's secret", () => {
  it("exists in no application container", async () => {
    const api = stack.containers.find((name) => name.endsWith("-api"));
    if (!api) throw new Error(`${STACK_JSON}: no api container`);
    const { stdout } = await run("docker", ["exec", api, "ls", "/run/secrets"]);
    expect(stdout.split("\n")).not.toContain("postgres_password");
    const { stdout: env } = await run("docker", ["inspect", "--format", "{{json .Config.Env}}", api]);
    expect(env).not.toContain(stack.postgres.roles["superuser"]?.password);
  });
});

describe("rotation", () => {
  // Version overrides deployed so far: each redeploy keeps the earlier ones (else they rotate back).
  const overrides = new Map<string, string>();
  const deployWith = async (changes: Record<string, string>): Promise<void> => {
    for (const [key, value] of Object.entries(changes)) overrides.set(key, value);
    await up([...overrides].map(([key, value]) => `${key}=${value}`));
  };
  const fresh = (): string => String(Date.now());

  it("rotates the app role's password: ALTER ROLE, new secret file, API restarted; the old password is refused", async () => {
    const old = stack.postgres.roles["app"] as Role;
    const apiBefore = (await run("docker", ["inspect", "--format", "{{.Id}}", `krc-${stack.stack}-api`])).stdout.trim();
    await deployWith({ "krc:dbAppPasswordVersion": fresh() });
    const now = stack.postgres.roles["app"] as Role;
    expect(now.password).not.toBe(old.password);
    await expect(query(as("app"), "SELECT 1")).resolves.toHaveLength(1);
    await expect(query({ ...as("app"), password: old.password }, "SELECT 1")).rejects.toThrow(/password authentication failed/);
    const apiAfter = (await run("docker", ["inspect", "--format", "{{.Id}}", `krc-${stack.stack}-api`])).stdout.trim();
    expect(apiAfter).not.toBe(apiBefore);
  });

  it("rotates the superuser's password with the documented steps", async () => {
    const old = (stack.postgres.roles["superuser"] as Role).password;
    // Step 1: a new value is generated and uploaded; the cluster keeps the old one for now.
    await deployWith({ "krc:postgresSuperuserPasswordVersion": fresh() });
    const rotated = (stack.postgres.roles["superuser"] as Role).password;
    expect(rotated).not.toBe(old);
    // The provider's own path (TLS, client certificate): still the old password until step 2.
    const providerPath = (password: string): ClientConfig => ({
      ...as("superuser", { database: "postgres" }),
      password,
      ssl: { ca, servername: serverName(), cert: readFileSync(stack.postgres.superuserClientCert, "utf8"), key: readFileSync(stack.postgres.superuserClientKey, "utf8") },
    });
    await expect(query(providerPath(old), "SELECT 1")).resolves.toHaveLength(1);
    await expect(query(providerPath(rotated), "SELECT 1")).rejects.toThrow(/password authentication failed/);
    // Step 2: set it from the uploaded file through the container's socket.
    await superuserSql(rotateSuperuserPasswordSql("postgres", "/run/secrets/postgres_password"));
    expect(await superuserSql("SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = 'postgres';")).toBe("SCRAM-SHA-256$");
    await expect(query(providerPath(rotated), "SELECT 1")).resolves.toHaveLength(1);
    await expect(query(providerPath(old), "SELECT 1")).rejects.toThrow(/password authentication failed/);
    // Step 3: the provider logs in with the new password: a role change through it succeeds.
    const readonlyBefore = (stack.postgres.roles["readonly"] as Role).password;
    await deployWith({ "krc:dbReadonlyPasswordVersion": fresh() });
    expect((stack.postgres.roles["readonly"] as Role).password).not.toBe(readonlyBefore);
    await expect(query(as("readonly"), "SELECT 1")).resolves.toHaveLength(1);
    const { stdout, stderr } = await run("docker", ["logs", dbContainer], { maxBuffer: 64 * 2 ** 20 });
    expect(stdout + stderr).not.toContain(rotated);
  });
});
