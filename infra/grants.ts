/**
 * Pure planner of the database's access rules: which roles exist with which limits, which grants
 * and default privileges the Postgres provider applies, and which server settings the database
 * container starts with. Creates no resources; `components/roles.ts` turns the plan into
 * `@pulumi/postgresql` resources and `components/database.ts` passes the settings to `postgres`.
 */
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { POSTGRES } from "./naming";

/** The names the plan uses. Defaults: `naming.ts`'s POSTGRES and the `public` schema. */
export interface AccessNames {
  readonly database: string;
  readonly schema: string;
  readonly owner: string;
  readonly app: string;
  readonly readonly: string;
}

/** Connection limits and session timeouts per role (timeouts in milliseconds, 0 = none). */
export interface AccessLimits {
  readonly ownerConnections: number;
  readonly appConnections: number;
  readonly readonlyConnections: number;
  readonly appStatementTimeoutMs: number;
  readonly appIdleInTransactionTimeoutMs: number;
  readonly readonlyStatementTimeoutMs: number;
}

/** Which of the three login roles a plan entry is about. */
export type RoleKey = "owner" | "app" | "readonly";

/** One login role, as `postgresql.Role` inputs need it. */
export interface RolePlan {
  readonly key: RoleKey;
  readonly name: string;
  readonly connectionLimit: number;
  readonly statementTimeoutMs: number;
  readonly idleInTransactionSessionTimeoutMs: number;
}

/**
 * One `postgresql.Grant`. The provider revokes everything the role holds on the object before it
 * grants `privileges`, so an empty list means "revoke all" (how PUBLIC loses its defaults).
 */
export interface GrantPlan {
  /** Stable, unique suffix for the resource name. */
  readonly key: string;
  readonly database: string;
  /** A role name, or `public` for PUBLIC. */
  readonly role: string;
  readonly objectType: "database" | "schema" | "table" | "sequence";
  readonly schema?: string;
  readonly privileges: readonly string[];
}

/** One `postgresql.DefaultPrivileges`: what `owner`'s future objects grant to `role`. */
export interface DefaultPrivilegePlan {
  readonly key: string;
  readonly database: string;
  readonly schema: string;
  readonly owner: string;
  readonly role: string;
  readonly objectType: "table" | "sequence";
  readonly privileges: readonly string[];
}

/** Everything the roles component creates, in dependency order. */
export interface AccessPlan {
  readonly names: AccessNames;
  readonly roles: readonly RolePlan[];
  readonly grants: readonly GrantPlan[];
  readonly defaultPrivileges: readonly DefaultPrivilegePlan[];
}

/** The project's names (architecture.md): database `krc`, roles `krc_owner`, `krc_app`, `krc_readonly`. */
export const DEFAULT_ACCESS_NAMES: AccessNames = Object.freeze({
  database: POSTGRES.database,
  schema: "public",
  owner: POSTGRES.owner,
  app: POSTGRES.app,
  readonly: POSTGRES.readonly,
});

/**
 * Limits sized for one small API: the app's pool (10) twice over for a rolling replacement, a few
 * sessions for migrations and for reports. The app's statement timeout stops a runaway query from
 * holding locks; the idle-in-transaction timeout frees a connection a crashed request left open.
 */
export const DEFAULT_ACCESS_LIMITS: AccessLimits = Object.freeze({
  ownerConnections: 5,
  appConnections: 20,
  readonlyConnections: 5,
  appStatementTimeoutMs: 15_000,
  appIdleInTransactionTimeoutMs: 30_000,
  readonlyStatementTimeoutMs: 300_000,
});

/** Databases every cluster has, which PUBLIC may connect to unless revoked. */
export const SYSTEM_DATABASES: readonly string[] = Object.freeze(["postgres", "template1"]);

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function assertIdentifier(field: string, value: string): void {
  if (!IDENTIFIER.test(value)) {
    throw new Error(
      `${field} must be a lower-case PostgreSQL identifier (letters, digits, underscore; at most 63; not starting with a digit), got ${JSON.stringify(value)}`,
    );
  }
}

function assertLimit(field: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${field} must be an integer of at least ${min}, got ${String(value)}`);
  }
}

/** Checks names and limits; throws naming the field, what is wrong and what is allowed. */
export function validateAccess(names: AccessNames, limits: AccessLimits): void {
  for (const [field, value] of Object.entries(names)) {
    assertIdentifier(`names.${field}`, value);
  }
  const roleNames = [names.owner, names.app, names.readonly];
  if (new Set(roleNames).size !== roleNames.length) {
    throw new Error(`names.owner, names.app and names.readonly must differ, got ${roleNames.join(", ")}`);
  }
  for (const name of [names.database, ...roleNames]) {
    if (name === "postgres" || name === "public" || name.startsWith("pg_") || SYSTEM_DATABASES.includes(name)) {
      throw new Error(`names must not use a reserved or system name (postgres, public, template1, pg_*), got ${name}`);
    }
  }
  assertLimit("limits.ownerConnections", limits.ownerConnections, 1);
  assertLimit("limits.appConnections", limits.appConnections, 1);
  assertLimit("limits.readonlyConnections", limits.readonlyConnections, 1);
  assertLimit("limits.appStatementTimeoutMs", limits.appStatementTimeoutMs, 1);
  assertLimit("limits.appIdleInTransactionTimeoutMs", limits.appIdleInTransactionTimeoutMs, 1);
  assertLimit("limits.readonlyStatementTimeoutMs", limits.readonlyStatementTimeoutMs, 0);
}

/**
 * Plans roles, grants and default privileges for least privilege:
 * - PUBLIC loses CONNECT/TEMP on the app database and CONNECT on `postgres`/`template1`, and every
 *   privilege on the schema (PostgreSQL 15 already denies it CREATE; USAGE goes too).
 * - owner: CONNECT; USAGE and CREATE on the schema (it runs the migrations); owns the database.
 * - app: CONNECT, schema USAGE, and through default privileges DML on tables and USAGE/SELECT on
 *   sequences the owner creates. No table-wide Grant for app: the provider would re-grant UPDATE and
 *   DELETE on every table, undoing the migrations' INSERT/SELECT-only rule for the audit table.
 * - readonly: CONNECT, schema USAGE, SELECT on existing and future tables and sequences.
 * Default privileges name the owner because the owner creates the tables (migrations run as it);
 * default privileges of any other role would never apply to them.
 */
export function planDatabaseAccess(
  names: AccessNames = DEFAULT_ACCESS_NAMES,
  limits: AccessLimits = DEFAULT_ACCESS_LIMITS,
): AccessPlan {
  validateAccess(names, limits);
  const { database, schema, owner, app, readonly } = names;
  const roles: RolePlan[] = [
    { key: "owner", name: owner, connectionLimit: limits.ownerConnections, statementTimeoutMs: 0, idleInTransactionSessionTimeoutMs: 0 },
    {
      key: "app",
      name: app,
      connectionLimit: limits.appConnections,
      statementTimeoutMs: limits.appStatementTimeoutMs,
      idleInTransactionSessionTimeoutMs: limits.appIdleInTransactionTimeoutMs,
    },
    {
      key: "readonly",
      name: readonly,
      connectionLimit: limits.readonlyConnections,
      statementTimeoutMs: limits.readonlyStatementTimeoutMs,
      idleInTransactionSessionTimeoutMs: 0,
    },
  ];
  const grants: GrantPlan[] = [
    { key: "public-db", database, role: "public", objectType: "database", privileges: [] },
    ...SYSTEM_DATABASES.map(
      (db): GrantPlan => ({ key: `public-${db}`, database: db, role: "public", objectType: "database", privileges: [] }),
    ),
    { key: "owner-db", database, role: owner, objectType: "database", privileges: ["CONNECT"] },
    { key: "app-db", database, role: app, objectType: "database", privileges: ["CONNECT"] },
    { key: "readonly-db", database, role: readonly, objectType: "database", privileges: ["CONNECT"] },
    { key: "public-schema", database, role: "public", objectType: "schema", schema, privileges: [] },
    { key: "owner-schema", database, role: owner, objectType: "schema", schema, privileges: ["CREATE", "USAGE"] },
    { key: "app-schema", database, role: app, objectType: "schema", schema, privileges: ["USAGE"] },
    { key: "readonly-schema", database, role: readonly, objectType: "schema", schema, privileges: ["USAGE"] },
    { key: "readonly-tables", database, role: readonly, objectType: "table", schema, privileges: ["SELECT"] },
    { key: "readonly-sequences", database, role: readonly, objectType: "sequence", schema, privileges: ["SELECT"] },
  ];
  const defaultPrivileges: DefaultPrivilegePlan[] = [
    { key: "app-tables", database, schema, owner, role: app, objectType: "table", privileges: ["DELETE", "INSERT", "SELECT", "UPDATE"] },
    { key: "app-sequences", database, schema, owner, role: app, objectType: "sequence", privileges: ["SELECT", "USAGE"] },
    { key: "readonly-tables", database, schema, owner, role: readonly, objectType: "table", privileges: ["SELECT"] },
    { key: "readonly-sequences", database, schema, owner, role: readonly, objectType: "sequence", privileges: ["SELECT"] },
  ];
  return Object.freeze({ names, roles, grants, defaultPrivileges });
}

/**
 * The catalog row a grant or default privilege rewrites, as a key: a schema's ACL, a database's, the
 * ACLs of every table (or sequence) in a schema, or one (owner, schema, kind) row of
 * pg_default_acl. The Postgres provider locks only the grantee role (and the database for database
 * grants), so two entries with the same target for different roles, applied at once, fail with
 * "tuple concurrently updated" (or a duplicate pg_default_acl row): they must run one at a time.
 */
export function applyTarget(entry: GrantPlan | DefaultPrivilegePlan): string {
  if ("owner" in entry) return `default-acl:${entry.database}:${entry.schema}:${entry.owner}:${entry.objectType}`;
  return `acl:${entry.database}:${entry.objectType}:${entry.schema ?? ""}`;
}

/** Where the database container finds its TLS and pg_hba files. */
export interface ServerFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** The stack CA: the server asks for a client certificate and checks the superuser's against it. */
  readonly caFile: string;
  readonly hbaFile: string;
}

/**
 * `postgres` command-line settings, as `-c name=value` pairs in exec form. TLS 1.3 only (every client
 * here, node-postgres and the provider's Go driver, speaks it); the stack CA for client certificates
 * (pg_hba demands one from the superuser); SCRAM for stored passwords; the
 * guide's audit logging: connections, disconnections and DDL, with user, database and client.
 */
export function planServerSettings(files: ServerFiles): string[] {
  for (const [field, value] of Object.entries(files)) {
    if (!value.startsWith("/") || /\s/.test(value)) {
      throw new Error(`files.${field} must be an absolute path without spaces, got ${JSON.stringify(value)}`);
    }
  }
  const settings: [string, string][] = [
    ["ssl", "on"],
    ["ssl_cert_file", files.certFile],
    ["ssl_key_file", files.keyFile],
    ["ssl_ca_file", files.caFile],
    ["ssl_min_protocol_version", "TLSv1.3"],
    ["hba_file", files.hbaFile],
    ["password_encryption", "scram-sha-256"],
    ["log_connections", "on"],
    ["log_disconnections", "on"],
    ["log_statement", "ddl"],
    ["log_line_prefix", "%m [%p] %q%u@%d %h "],
  ];
  return settings.flatMap(([name, value]) => ["-c", `${name}=${value}`]);
}

const SCRAM_ITERATIONS = 4096;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL would store for `password` (RFC 5802/7677, as
 * `pg_authid.rolpassword`). The Role resource gets this instead of the password: CREATE/ALTER ROLE
 * are DDL, which `log_statement=ddl` writes to the server log, and a verifier there is not a
 * credential (logging in needs the password itself). The salt is derived from the password and the
 * role so the verifier is stable between deploys (no churn) yet differs per role.
 * Only printable ASCII passwords (the generated ones are hex/base64) so no SASLprep is needed.
 */
export function scramSha256Verifier(password: string, role: string): string {
  if (!PRINTABLE_ASCII.test(password)) {
    throw new Error(`the password for role ${role} must be non-empty printable ASCII without spaces`);
  }
  const salt = createHmac("sha256", password).update(`krc scram salt for ${role}`).digest().subarray(0, 16);
  const salted = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
