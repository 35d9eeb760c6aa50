/**
 * The postgresql and tls emulations against a real PostgreSQL 15: certificates from the tls
 * materializers, the project's pg_hba and server settings, and the access plan applied through the
 * postgresql materializers, then checked by connecting as each role.
 */
import { execFile } from "node:child_process";
import { chownSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Client, type ClientConfig } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rotateSuperuserPasswordSql } from "../../infra/components/roles";
import { planDatabaseAccess, planServerSettings, scramSha256Verifier } from "../../infra/grants";
import { renderPgHba } from "../../infra/pg-hba";
import type { MaterializeContext, Materializer, Props } from "../support/harness/types";
import {
  postgresqlDatabase,
  postgresqlDefaultPrivileges,
  postgresqlGrant,
  postgresqlRole,
} from "../support/harness/providers/postgresql";
import { tlsCertRequest, tlsLocallySignedCert, tlsPrivateKey, tlsSelfSignedCert } from "../support/harness/providers/tls";
import { startPostgres, type TestPostgres } from "../support/postgres";

const plan = planDatabaseAccess();
const passwords: Record<string, string> = { krc_owner: "owner-Pass-1", krc_app: "app-Pass-1", krc_readonly: "ro-Pass-1" };

let pg: TestPostgres;
let ca = "";
let providerConfig: Props = {};
const created: { m: Materializer; id: string; inputs: Props; outputs: Props }[] = [];

function context(config: Props = providerConfig): MaterializeContext {
  return { stack: "harness-test", urn: "urn:test", name: "test", providerConfig: config, log: () => undefined };
}

async function materialize(m: Materializer, inputs: Props): Promise<Props> {
  m.validate?.(inputs);
  const result = await m.create(context(), inputs);
  created.push({ m, id: result.id, inputs, outputs: result.outputs });
  return result.outputs;
}

function as(role: string, database = "krc", extra: Partial<ClientConfig> = {}): ClientConfig {
  return {
    host: "localhost",
    port: pg.port,
    user: role,
    password: passwords[role],
    database,
    ssl: { ca, servername: "localhost" },
    ...extra,
  };
}

async function query(config: ClientConfig, text: string): Promise<Record<string, unknown>[]> {
  const client = new Client(config);
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

/** Writes a file the server (OS user postgres) reads, with the owner and mode it insists on. */
function writeServerFile(path: string, content: string, owner: { uid: number; gid: number }): void {
  writeFileSync(path, content, { mode: 0o600 });
  chownSync(path, owner.uid, owner.gid);
}

beforeAll(async () => {
  const caKey = await materialize(tlsPrivateKey, { algorithm: "ECDSA", ecdsaCurve: "P256" });
  const caCert = await materialize(tlsSelfSignedCert, {
    privateKeyPem: caKey["privateKeyPem"],
    subject: { commonName: "krc test CA" },
    isCaCertificate: true,
    validityPeriodHours: 24,
    allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
  });
  ca = caCert["certPem"] as string;
  const sign = async (commonName: string, uses: string[], names: Props) => {
    const key = await materialize(tlsPrivateKey, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const csr = await materialize(tlsCertRequest, { privateKeyPem: key["privateKeyPem"], subject: { commonName }, ...names });
    const cert = await materialize(tlsLocallySignedCert, {
      certRequestPem: csr["certRequestPem"],
      caPrivateKeyPem: caKey["privateKeyPem"],
      caCertPem: ca,
      validityPeriodHours: 24,
      allowedUses: uses,
    });
    return { key: key["privateKeyPem"] as string, cert: cert["certPem"] as string };
  };
  const server = await sign("localhost", ["digital_signature", "key_encipherment", "server_auth"], { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  const client = await sign("postgres", ["digital_signature", "client_auth"], {});

  pg = await startPostgres({ owner: "seed_owner", app: "seed_app", database: "seed" });
  const superuser = { host: "127.0.0.1", port: pg.port, user: pg.superuser.user, password: pg.superuser.password, database: "postgres" };
  const dataDir = String((await query(superuser, "SHOW data_directory"))[0]?.["data_directory"]);
  const owner = statSync(dataDir);
  writeServerFile(join(dataDir, "server.crt"), server.cert, owner);
  writeServerFile(join(dataDir, "server.key"), server.key, owner);
  writeServerFile(join(dataDir, "ca.crt"), ca, owner);
  writeServerFile(
    join(dataDir, "pg_hba.conf"),
    renderPgHba({ database: "krc", roles: plan.roles.map((r) => r.name), superuser: "postgres", subnet: "127.0.0.0/8", providerAddress: "127.0.0.1" }),
    owner,
  );
  // The container passes these as -c flags; a running server takes them through ALTER SYSTEM.
  const settings = planServerSettings({ certFile: "/x/server.crt", keyFile: "/x/server.key", caFile: "/x/ca.crt", hbaFile: "/x/pg_hba.conf" })
    .filter((arg) => arg !== "-c")
    .map((arg) => [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1).replace(/^\/x\//, "")] as const)
    .filter(([name]) => name !== "hba_file");
  const admin = new Client(superuser);
  await admin.connect();
  for (const [name, value] of settings) await admin.query(`ALTER SYSTEM SET ${name} = '${value}'`);
  await admin.query("SELECT pg_reload_conf()");
  await admin.end();

  providerConfig = {
    host: "localhost",
    port: String(pg.port),
    username: "postgres",
    password: pg.superuser.password,
    sslmode: "verify-full",
    sslrootcert: ca,
    clientcert: JSON.stringify({ cert: client.cert, key: client.key, sslinline: true }),
    superuser: "true",
    connectTimeout: "15",
  };
  for (const role of plan.roles) {
    await materialize(postgresqlRole, {
      name: role.name,
      login: true,
      password: scramSha256Verifier(passwords[role.name] as string, role.name),
      connectionLimit: role.connectionLimit,
      statementTimeout: role.statementTimeoutMs,
      idleInTransactionSessionTimeout: role.idleInTransactionSessionTimeoutMs,
    });
  }
  await materialize(postgresqlDatabase, { name: "krc", owner: "krc_owner" });
  for (const grant of plan.grants) {
    await materialize(postgresqlGrant, { ...grant, key: undefined, privileges: [...grant.privileges] });
  }
  for (const defaults of plan.defaultPrivileges) {
    await materialize(postgresqlDefaultPrivileges, { ...defaults, key: undefined, privileges: [...defaults.privileges] });
  }
  await query(as("krc_owner"), "CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL)");
}, 120_000);

afterAll(async () => {
  for (const { m, id, inputs, outputs } of created.reverse()) {
    await m.delete(context(), id, inputs, outputs).catch(() => undefined);
  }
  await pg?.stop();
});

describe("postgresql emulation with the project's plan", () => {
  it("lets app read and write a table the owner created after the grants", async () => {
    const rows = await query(as("krc_app"), "INSERT INTO notes (body) VALUES ('hi') RETURNING id");
    expect(rows).toHaveLength(1);
    await expect(query(as("krc_app"), "UPDATE notes SET body = 'ho' RETURNING body")).resolves.toEqual([{ body: "ho" }]);
    await expect(query(as("krc_app"), "DELETE FROM notes RETURNING body")).resolves.toEqual([{ body: "ho" }]);
  });

  it.each([
    ["CREATE TABLE t (x int)", /permission denied for schema public/],
    ["CREATE SCHEMA s", /permission denied for database krc/],
    ["TRUNCATE notes", /permission denied for table notes/],
    ["CREATE TEMP TABLE t (x int)", /permission denied to create temporary tables in database "krc"/],
    ["SELECT * FROM pg_authid", /permission denied for table pg_authid/],
  ])("refuses app %s", async (sql, error) => {
    await expect(query(as("krc_app"), sql)).rejects.toThrow(error);
  });

  it("gives app its statement and idle-in-transaction timeouts when it logs in", async () => {
    const rows = await query(as("krc_app"), "SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i");
    expect(rows[0]).toEqual({ s: "15s", i: "30s" });
  });

  it("lets readonly read and refuses it a write", async () => {
    await expect(query(as("krc_readonly"), "SELECT count(*) FROM notes")).resolves.toHaveLength(1);
    await expect(query(as("krc_readonly"), "INSERT INTO notes (body) VALUES ('x')")).rejects.toThrow(/permission denied for table notes/);
  });

  it.each(["postgres", "template1"])("refuses app a connection to %s", async (database) => {
    await expect(query(as("krc_app", database), "SELECT 1")).rejects.toThrow(/no pg_hba.conf entry|permission denied for database/);
  });

  it.each(["postgres", "template1", "krc"])("leaves PUBLIC no privilege on database %s", async (database) => {
    const rows = await query(as("krc_owner"), `SELECT count(*)::int AS n FROM pg_database, aclexplode(datacl) a WHERE datname = '${database}' AND a.grantee = 0`);
    expect(rows[0]).toEqual({ n: 0 });
  });

  it("refuses a plaintext connection", async () => {
    await expect(query(as("krc_app", "krc", { ssl: false }), "SELECT 1")).rejects.toThrow(/no pg_hba.conf entry .* no encryption/);
  });

  it("refuses the superuser over TCP without the client certificate", async () => {
    const config = { host: "localhost", port: pg.port, user: "postgres", password: pg.superuser.password, database: "postgres", ssl: { ca, servername: "localhost" } };
    await expect(query(config, "SELECT 1")).rejects.toThrow(/certificate/);
  });

  it("keeps role passwords out of the server log although DDL is logged", async () => {
    // startPostgres logs to <its dir>/log, next to the data directory.
    const log = readFileSync(join(dirname(await dataDirectory()), "log"), "utf8");
    expect(log).toContain("CREATE ROLE");
    for (const password of Object.values(passwords)) expect(log).not.toContain(password);
  });

  it("rotates a password in place: the new one works and the old one is refused", async () => {
    const entry = created.find((c) => c.m === postgresqlRole && c.id === "krc_readonly");
    if (!entry) throw new Error("readonly role not materialized");
    const news = { ...entry.inputs, password: scramSha256Verifier("ro-Pass-2", "krc_readonly") };
    const old = passwords["krc_readonly"] as string;
    entry.outputs = await (postgresqlRole.update as NonNullable<Materializer["update"]>)(context(), entry.id, entry.inputs, news, entry.outputs);
    entry.inputs = news;
    await expect(query(as("krc_readonly"), "SELECT 1")).rejects.toThrow(/password authentication failed/);
    passwords["krc_readonly"] = "ro-Pass-2";
    await expect(query(as("krc_readonly"), "SELECT 1")).resolves.toHaveLength(1);
    expect(old).not.toBe(passwords["krc_readonly"]);
  });
});

describe("superuser password rotation, step 2 (infra/components/roles.ts)", () => {
  it("sets the superuser's password from a file over the peer-authenticated socket without logging it", async () => {
    const dir = dirname(await dataDirectory());
    const file = join(dir, "new_superuser_password");
    const owner = statSync(dir);
    const newPassword = "rotated-Super-2";
    writeServerFile(file, newPassword, owner);
    const sql = rotateSuperuserPasswordSql("postgres", file);
    await psqlAsServerUser(dir, sql);
    const { cert, key } = JSON.parse(String(providerConfig["clientcert"])) as { cert: string; key: string };
    const superuser = (password: string) => ({ host: "localhost", port: pg.port, user: "postgres", password, database: "postgres", ssl: { ca, servername: "localhost", cert, key } });
    await expect(query(superuser(pg.superuser.password), "SELECT 1")).rejects.toThrow(/password authentication failed/);
    await expect(query(superuser(newPassword), "SELECT 1")).resolves.toHaveLength(1);
    expect(readFileSync(join(dir, "log"), "utf8")).not.toContain(newPassword);
    // Put the old password back so the provider config and cleanup keep working.
    writeServerFile(file, pg.superuser.password, owner);
    await psqlAsServerUser(dir, sql);
  });
});

describe("postgresql emulation's updates and deletes", () => {
  it("revokes then grants again when a Grant's privileges change", async () => {
    const entry = created.find((c) => c.m === postgresqlGrant && c.id === "krc_readonly_krc_public_table");
    if (!entry) throw new Error("readonly table grant not materialized");
    const update = postgresqlGrant.update as NonNullable<Materializer["update"]>;
    await update(context(), entry.id, entry.inputs, { ...entry.inputs, privileges: [] }, entry.outputs);
    await expect(query(as("krc_readonly"), "SELECT count(*) FROM notes")).rejects.toThrow(/permission denied for table notes/);
    await update(context(), entry.id, { ...entry.inputs, privileges: [] }, entry.inputs, entry.outputs);
    await expect(query(as("krc_readonly"), "SELECT count(*) FROM notes")).resolves.toHaveLength(1);
  });

  it("applies many grants on one database and schema at once, as the engine's parallel steps do", async () => {
    const grants = plan.grants.filter((g) => g.database === "krc");
    await Promise.all(grants.map((g) => (postgresqlGrant.update as NonNullable<Materializer["update"]>)(context(), "x", {}, { ...g, key: undefined, privileges: [...g.privileges] }, {})));
    await expect(query(as("krc_readonly"), "SELECT count(*) FROM notes")).resolves.toHaveLength(1);
  });

  it("removes every grant, default privilege, the database and the roles when deleted in reverse order", async () => {
    await query(as("krc_owner"), "DROP TABLE notes");
    for (const { m, id, inputs, outputs } of [...created].reverse()) await m.delete(context(), id, inputs, outputs);
    created.length = 0;
    const { cert, key } = JSON.parse(String(providerConfig["clientcert"])) as { cert: string; key: string };
    const superuser = { host: "localhost", port: pg.port, user: "postgres", password: pg.superuser.password, database: "postgres", ssl: { ca, servername: "localhost", cert, key } };
    expect(await query(superuser, "SELECT rolname FROM pg_roles WHERE rolname LIKE 'krc_%'")).toEqual([]);
    expect(await query(superuser, "SELECT datname FROM pg_database WHERE datname = 'krc'")).toEqual([]);
    // Deleting a Grant revokes (as the provider does): PUBLIC does not get its defaults back.
    expect(await query(superuser, "SELECT count(*)::int AS n FROM pg_database, aclexplode(datacl) a WHERE datname = 'postgres' AND a.grantee = 0")).toEqual([{ n: 0 }]);
  });
});

describe("postgresql emulation's strictness", () => {
  it("refuses sslmode require without a CA file, which would be unverified TLS", async () => {
    const config = { ...providerConfig, sslmode: "require", clientcert: undefined, sslrootcert: undefined };
    await expect(postgresqlRole.create(context(config), { name: "x_never" })).rejects.toThrow(
      "harness: postgresql provider sslmode=require without a usable sslrootcert would be unverified TLS, which the harness does not implement",
    );
  });

  it("refuses provider config it does not implement", async () => {
    await expect(postgresqlRole.create(context({ ...providerConfig, awsRdsIamAuth: "true" }), { name: "x_never" })).rejects.toThrow(
      'harness: postgresql provider config "awsRdsIamAuth" is not implemented',
    );
  });

  it("refuses a grant object type it does not implement", () => {
    expect(() => postgresqlGrant.validate?.({ database: "krc", role: "krc_app", schema: "public", objectType: "function", privileges: ["EXECUTE"] })).toThrow(
      'harness: postgresql:index/grant:Grant objectType "function" is not implemented (database, schema, table, sequence)',
    );
  });

  it("refuses a privilege the object type does not have, as the provider does", () => {
    expect(() => postgresqlGrant.validate?.({ database: "krc", role: "krc_app", objectType: "database", privileges: ["SELECT"] })).toThrow(
      "SELECT is not an allowed privilege for object type database",
    );
  });
});

/** psql as the OS user postgres over the server's Unix socket in `dir` (peer authentication), SQL on stdin. */
async function psqlAsServerUser(dir: string, sql: string): Promise<void> {
  const child = execFile("runuser", ["-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", dir, "-p", String(pg.port), "-d", "postgres"]);
  child.stdin?.end(sql);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new Error(`psql exited with ${String(code)}`);
}

/** The superuser over the provider's path: TLS, the CA, and the client certificate. */
async function dataDirectory(): Promise<string> {
  const { cert, key } = JSON.parse(String(providerConfig["clientcert"])) as { cert: string; key: string };
  const superuser = { host: "localhost", port: pg.port, user: "postgres", password: pg.superuser.password, database: "postgres", ssl: { ca, servername: "localhost", cert, key } };
  return String((await query(superuser, "SHOW data_directory"))[0]?.["data_directory"]);
}
