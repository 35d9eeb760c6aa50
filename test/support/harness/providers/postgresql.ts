/**
 * Emulation of the @pulumi/postgresql provider (the bridged cyrilgdn/terraform-provider-postgresql)
 * for the live harness: Role, Database, Grant and DefaultPrivileges, issuing the SQL the provider
 * issues (postgresql/resource_postgresql_*.go): CREATE ROLE ... WITH <options> then ALTER ROLE ...
 * SET for role settings; grants that REVOKE ALL before they GRANT, in one transaction; default
 * privileges the same way. It connects with the explicit provider's config exactly as the
 * provider's Go driver (lib/pq) would, TLS modes included, and refuses fields and config it does
 * not implement.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { Client, type ClientConfig } from "pg";
import type { ConnectionOptions } from "node:tls";
import type { Created, MaterializeContext, Materializer, Props } from "../types";
import { withTransaction } from "../../../../app/src/context";

type Sql = (text: string, values?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

const PROVIDER_KEYS = new Set([
  "host", "port", "username", "password", "database", "sslmode", "sslrootcert", "clientcert",
  "superuser", "connectTimeout", "maxConnections", "scheme", "version",
]);

/** `pq.QuoteIdentifier`. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The provider's `pqQuoteLiteral`, inside quotes (standard_conforming_strings is on). */
function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function str(config: Props, key: string): string | undefined {
  const v = config[key];
  return v === undefined || v === null || v === "" ? undefined : String(v);
}

interface ClientCert {
  readonly cert: string;
  readonly key: string;
  readonly sslinline: boolean;
}

function parseClientCert(raw: unknown): ClientCert | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  const v = (typeof raw === "string" ? JSON.parse(raw) : raw) as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    if (!["cert", "key", "sslinline"].includes(k)) throw new Error(`harness: postgresql provider clientcert.${k} is not implemented`);
  }
  if (typeof v["cert"] !== "string" || typeof v["key"] !== "string") throw new Error("harness: postgresql provider clientcert needs cert and key");
  return { cert: v["cert"], key: v["key"], sslinline: v["sslinline"] === true || v["sslinline"] === "true" };
}

/**
 * lib/pq's TLS rules as node:tls options. `sslinline` (set through clientcert) makes sslrootcert,
 * sslcert and sslkey PEM content instead of paths. `require` verifies the chain only when
 * sslrootcert names an existing file (lib/pq drops it otherwise); the harness refuses unverified TLS.
 */
function tlsOptions(config: Props, host: string): false | ConnectionOptions {
  const mode = str(config, "sslmode") ?? "require";
  if (mode === "disable") return false;
  const clientCert = parseClientCert(config["clientcert"]);
  const inline = clientCert?.sslinline ?? false;
  const read = (value: string): string => (inline ? value : readFileSync(value, "utf8"));
  const rootCert = str(config, "sslrootcert");
  const options: ConnectionOptions = {};
  if (clientCert) {
    options.cert = read(clientCert.cert);
    options.key = read(clientCert.key);
  }
  if (mode === "verify-full" || mode === "verify-ca" || mode === "require") {
    if (rootCert === undefined || (mode === "require" && inline)) {
      throw new Error(`harness: postgresql provider sslmode=${mode} without a usable sslrootcert would be unverified TLS, which the harness does not implement`);
    }
    options.ca = read(rootCert);
    if (mode === "verify-full") {
      if (isIP(host) === 0) options.servername = host;
    } else {
      // verify-ca: the chain is checked against the CA; the host name is not (as libpq and lib/pq).
      options.checkServerIdentity = () => undefined;
    }
    return options;
  }
  throw new Error(`harness: postgresql provider sslmode "${mode}" is not implemented (disable, require, verify-ca, verify-full)`);
}

/** The pg client config for one database, from the provider config the harness passes. */
export function clientConfig(config: Props, database?: string): ClientConfig {
  for (const k of Object.keys(config)) {
    if (!PROVIDER_KEYS.has(k)) throw new Error(`harness: postgresql provider config "${k}" is not implemented`);
  }
  const scheme = str(config, "scheme") ?? "postgres";
  if (scheme !== "postgres") throw new Error(`harness: postgresql provider scheme "${scheme}" is not implemented`);
  const host = str(config, "host");
  const username = str(config, "username");
  if (host === undefined || username === undefined) {
    throw new Error("harness: postgresql resources need an explicit provider with host and username");
  }
  const timeout = Number(str(config, "connectTimeout") ?? "180");
  return {
    host,
    port: Number(str(config, "port") ?? "5432"),
    user: username,
    password: str(config, "password") ?? "",
    database: database ?? str(config, "database") ?? "postgres",
    ssl: tlsOptions(config, host),
    connectionTimeoutMillis: timeout * 1000,
    application_name: "krc-harness-postgresql",
  };
}

const serverLocks = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` after every earlier operation on the same server has finished. The provider serializes
 * its catalog changes in-process the same way (a mutex around GRANT/REVOKE, upstream PR #169):
 * PostgreSQL fails concurrent ACL updates of one row with "tuple concurrently updated".
 */
function serialized<T>(config: Props, fn: () => Promise<T>): Promise<T> {
  const key = `${String(config["host"])}:${String(config["port"] ?? "5432")}`;
  const previous = serverLocks.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(fn);
  serverLocks.set(key, next);
  return next;
}

/** Runs `fn` in one transaction on `database` (the provider's `startTransaction`). */
function inTransaction<T>(ctx: MaterializeContext, database: string | undefined, fn: (sql: Sql) => Promise<T>): Promise<T> {
  return serialized(ctx.providerConfig, () => transaction(ctx, database, fn));
}

async function transaction<T>(ctx: MaterializeContext, database: string | undefined, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const client = new Client(clientConfig(ctx.providerConfig, database));
  await client.connect();
  try {
    return await withTransaction(client, () => fn((text, values) => client.query(text, values)));
  } finally {
    await client.end();
  }
}

/** Runs statements outside a transaction (CREATE/DROP DATABASE cannot run inside one). */
function withClient<T>(ctx: MaterializeContext, fn: (sql: Sql) => Promise<T>): Promise<T> {
  return serialized(ctx.providerConfig, () => session(ctx, fn));
}

async function session<T>(ctx: MaterializeContext, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const client = new Client(clientConfig(ctx.providerConfig));
  await client.connect();
  try {
    return await fn((text, values) => client.query(text, values));
  } finally {
    await client.end();
  }
}

function refuseNested(type: string, inputs: Props, field: string, allowed: readonly string[]): void {
  const v = inputs[field];
  if (v !== undefined && !allowed.includes(String(v))) {
    throw new Error(`harness: ${type} ${field} "${String(v)}" is not implemented (${allowed.join(", ")})`);
  }
}

function requireString(type: string, inputs: Props, field: string): string {
  const v = inputs[field];
  if (typeof v !== "string" || v === "") throw new Error(`harness: ${type} needs ${field} (the harness does not auto-name)`);
  return v;
}

// ---------------------------------------------------------------- Role

const ROLE = "postgresql:index/role:Role";
const ROLE_DEFAULTS: Props = {
  login: false, superuser: false, createDatabase: false, createRole: false, inherit: true, replication: false,
  bypassRowLevelSecurity: false, connectionLimit: -1, validUntil: "infinity", encryptedPassword: true, roles: [],
  searchPaths: [], statementTimeout: 0, idleInTransactionSessionTimeout: 0, skipDropRole: false, skipReassignOwned: false,
};
const ROLE_FLAGS: [string, string, string][] = [
  ["superuser", "SUPERUSER", "NOSUPERUSER"],
  ["createDatabase", "CREATEDB", "NOCREATEDB"],
  ["createRole", "CREATEROLE", "NOCREATEROLE"],
  ["inherit", "INHERIT", "NOINHERIT"],
  ["login", "LOGIN", "NOLOGIN"],
  ["replication", "REPLICATION", "NOREPLICATION"],
  ["bypassRowLevelSecurity", "BYPASSRLS", "NOBYPASSRLS"],
];

function withRoleDefaults(inputs: Props): Props {
  return { ...ROLE_DEFAULTS, ...Object.fromEntries(Object.entries(inputs).filter(([, v]) => v !== undefined)) };
}

/** `ALTER ROLE ... SET name TO value` or `RESET name` for value 0, as setStatementTimeout does. */
async function setRoleSetting(sql: Sql, role: string, setting: string, value: number): Promise<void> {
  await sql(value !== 0 ? `ALTER ROLE ${quoteIdent(role)} SET ${setting} TO ${value}` : `ALTER ROLE ${quoteIdent(role)} RESET ${setting}`);
}

async function grantMemberships(sql: Sql, role: string, roles: readonly string[]): Promise<void> {
  for (const member of roles) await sql(`GRANT ${quoteIdent(member)} TO ${quoteIdent(role)}`);
}

function roleOutputs(p: Props): Props {
  return { ...p, roles: [...(p["roles"] as string[])].sort() };
}

/** postgresql.Role: CREATE ROLE with every option, memberships and per-role settings in one transaction. */
export const postgresqlRole: Materializer = {
  type: ROLE,
  inputs: new Set([
    "name", "password", "login", "superuser", "createDatabase", "createRole", "inherit", "replication",
    "bypassRowLevelSecurity", "connectionLimit", "validUntil", "encryptedPassword", "roles",
    "statementTimeout", "idleInTransactionSessionTimeout", "skipDropRole", "skipReassignOwned",
  ]),
  updatable: new Set([
    "name", "password", "login", "superuser", "createDatabase", "createRole", "inherit", "replication",
    "bypassRowLevelSecurity", "connectionLimit", "validUntil", "roles", "statementTimeout",
    "idleInTransactionSessionTimeout", "skipDropRole", "skipReassignOwned",
  ]),
  validate(inputs) {
    requireString(ROLE, inputs, "name");
    if (inputs["encryptedPassword"] === false) throw new Error(`harness: ${ROLE} encryptedPassword false is not implemented (PostgreSQL 10+ refuses UNENCRYPTED)`);
  },
  async create(ctx, raw): Promise<Created> {
    const p = withRoleDefaults(raw);
    const name = p["name"] as string;
    const options: string[] = [];
    const password = p["password"] as string | undefined;
    if (password !== undefined && password !== "") {
      options.push(password.toUpperCase() === "NULL" ? "PASSWORD NULL" : `ENCRYPTED PASSWORD ${quoteLiteral(password)}`);
    }
    options.push(`VALID UNTIL ${quoteLiteral(String(p["validUntil"]))}`);
    options.push(`CONNECTION LIMIT ${Number(p["connectionLimit"])}`);
    for (const [field, on, off] of ROLE_FLAGS) options.push(p[field] ? on : off);
    await inTransaction(ctx, undefined, async (sql) => {
      await sql(`CREATE ROLE ${quoteIdent(name)} WITH ${options.join(" ")}`);
      await grantMemberships(sql, name, p["roles"] as string[]);
      await sql(`ALTER ROLE ${quoteIdent(name)} SET search_path TO DEFAULT`);
      if (p["statementTimeout"] !== 0) await setRoleSetting(sql, name, "statement_timeout", Number(p["statementTimeout"]));
      if (p["idleInTransactionSessionTimeout"] !== 0) {
        await setRoleSetting(sql, name, "idle_in_transaction_session_timeout", Number(p["idleInTransactionSessionTimeout"]));
      }
    });
    ctx.log(`created role ${name}`);
    return { id: name, outputs: roleOutputs(p) };
  },
  async update(ctx, _id, rawOlds, rawNews) {
    const olds = withRoleDefaults(rawOlds);
    const news = withRoleDefaults(rawNews);
    const changed = (field: string): boolean => JSON.stringify(olds[field]) !== JSON.stringify(news[field]);
    const name = news["name"] as string;
    const role = quoteIdent(name);
    await inTransaction(ctx, undefined, async (sql) => {
      if (changed("name")) await sql(`ALTER ROLE ${quoteIdent(olds["name"] as string)} RENAME TO ${role}`);
      if (changed("password") || changed("name")) {
        await sql(`ALTER ROLE ${role} PASSWORD ${quoteLiteral(String(news["password"] ?? ""))}`);
      }
      for (const [field, on, off] of ROLE_FLAGS) {
        if (changed(field)) await sql(`ALTER ROLE ${role} WITH ${news[field] ? on : off}`);
      }
      if (changed("connectionLimit")) await sql(`ALTER ROLE ${role} CONNECTION LIMIT ${Number(news["connectionLimit"])}`);
      if (changed("validUntil")) await sql(`ALTER ROLE ${role} VALID UNTIL ${quoteLiteral(String(news["validUntil"]))}`);
      // Memberships: revoke every current one, then grant the wanted ones (revokeRoles/grantRoles).
      const { rows } = await sql(
        "SELECT pg_get_userbyid(roleid) AS granted FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON m.member = r.oid WHERE r.rolname = $1",
        [name],
      );
      for (const row of rows) await sql(`REVOKE ${quoteIdent(String(row["granted"]))} FROM ${role}`);
      await grantMemberships(sql, name, news["roles"] as string[]);
      await sql(`ALTER ROLE ${role} SET search_path TO DEFAULT`);
      if (changed("statementTimeout")) await setRoleSetting(sql, name, "statement_timeout", Number(news["statementTimeout"]));
      if (changed("idleInTransactionSessionTimeout")) {
        await setRoleSetting(sql, name, "idle_in_transaction_session_timeout", Number(news["idleInTransactionSessionTimeout"]));
      }
    });
    ctx.log(`updated role ${name}`);
    return roleOutputs(news);
  },
  async delete(ctx, _id, rawInputs) {
    const p = withRoleDefaults(rawInputs);
    const name = p["name"] as string;
    await inTransaction(ctx, undefined, async (sql) => {
      const { rows } = await sql("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", [name]);
      if (rows.length === 0) return;
      if (!p["skipReassignOwned"]) {
        await sql(`REASSIGN OWNED BY ${quoteIdent(name)} TO CURRENT_USER`);
        await sql(`DROP OWNED BY ${quoteIdent(name)}`);
      }
      if (!p["skipDropRole"]) await sql(`DROP ROLE ${quoteIdent(name)}`);
    });
    ctx.log(`deleted role ${name}`);
  },
};

// ---------------------------------------------------------------- Database

const DATABASE = "postgresql:index/database:Database";

/** postgresql.Database: CREATE DATABASE with the provider's defaults (template0, UTF8). */
export const postgresqlDatabase: Materializer = {
  type: DATABASE,
  inputs: new Set(["name", "owner", "template", "encoding", "lcCollate", "lcCtype", "allowConnections", "connectionLimit", "isTemplate"]),
  updatable: new Set(["name", "owner", "allowConnections", "connectionLimit", "isTemplate"]),
  validate(inputs) {
    requireString(DATABASE, inputs, "name");
  },
  async create(ctx, inputs): Promise<Created> {
    const name = inputs["name"] as string;
    const template = (inputs["template"] as string | undefined) ?? "template0";
    const encoding = (inputs["encoding"] as string | undefined) ?? "UTF8";
    const allow = (inputs["allowConnections"] as boolean | undefined) ?? true;
    const limit = (inputs["connectionLimit"] as number | undefined) ?? -1;
    const isTemplate = (inputs["isTemplate"] as boolean | undefined) ?? false;
    const parts = [`CREATE DATABASE ${quoteIdent(name)}`];
    if (inputs["owner"] !== undefined) parts.push(`OWNER ${quoteIdent(inputs["owner"] as string)}`);
    parts.push(template.toUpperCase() === "DEFAULT" ? "TEMPLATE DEFAULT" : `TEMPLATE ${quoteIdent(template)}`);
    parts.push(`ENCODING ${quoteLiteral(encoding)}`);
    if (inputs["lcCollate"] !== undefined) parts.push(`LC_COLLATE ${quoteLiteral(inputs["lcCollate"] as string)}`);
    if (inputs["lcCtype"] !== undefined) parts.push(`LC_CTYPE ${quoteLiteral(inputs["lcCtype"] as string)}`);
    parts.push(`ALLOW_CONNECTIONS ${allow}`, `CONNECTION LIMIT ${limit}`, `IS_TEMPLATE ${isTemplate}`);
    const outputs = await withClient(ctx, async (sql) => {
      await sql(parts.join(" "));
      const { rows } = await sql(
        "SELECT pg_get_userbyid(datdba) AS owner, datcollate, datctype FROM pg_catalog.pg_database WHERE datname = $1",
        [name],
      );
      return rows[0] as Record<string, string>;
    });
    ctx.log(`created database ${name}`);
    return {
      id: name,
      outputs: {
        name, owner: outputs["owner"], template, encoding, lcCollate: outputs["datcollate"], lcCtype: outputs["datctype"],
        allowConnections: allow, connectionLimit: limit, isTemplate, tablespaceName: "pg_default", alterObjectOwnership: false,
      },
    };
  },
  async update(ctx, _id, olds, news, oldOutputs) {
    const name = news["name"] as string;
    const db = quoteIdent(name);
    await withClient(ctx, async (sql) => {
      if (olds["name"] !== news["name"]) await sql(`ALTER DATABASE ${quoteIdent(olds["name"] as string)} RENAME TO ${db}`);
      if (olds["owner"] !== news["owner"] && news["owner"] !== undefined) await sql(`ALTER DATABASE ${db} OWNER TO ${quoteIdent(news["owner"] as string)}`);
      if (olds["connectionLimit"] !== news["connectionLimit"]) await sql(`ALTER DATABASE ${db} CONNECTION LIMIT ${(news["connectionLimit"] as number | undefined) ?? -1}`);
      if (olds["allowConnections"] !== news["allowConnections"]) await sql(`ALTER DATABASE ${db} ALLOW_CONNECTIONS ${(news["allowConnections"] as boolean | undefined) ?? true}`);
      if (olds["isTemplate"] !== news["isTemplate"]) await sql(`ALTER DATABASE ${db} IS_TEMPLATE ${(news["isTemplate"] as boolean | undefined) ?? false}`);
    });
    ctx.log(`updated database ${name}`);
    return {
      ...oldOutputs, name, owner: news["owner"] ?? oldOutputs["owner"],
      connectionLimit: news["connectionLimit"] ?? -1, allowConnections: news["allowConnections"] ?? true, isTemplate: news["isTemplate"] ?? false,
    };
  },
  async delete(ctx, _id, inputs) {
    const name = inputs["name"] as string;
    await withClient(ctx, async (sql) => {
      const { rows } = await sql("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", [name]);
      if (rows.length === 0) return;
      await sql(`ALTER DATABASE ${quoteIdent(name)} IS_TEMPLATE false`);
      await sql(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS false`);
      await sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [name]);
      await sql(`DROP DATABASE ${quoteIdent(name)}`);
    });
    ctx.log(`deleted database ${name}`);
  },
};

// ---------------------------------------------------------------- Grant

const GRANT = "postgresql:index/grant:Grant";
const GRANT_PRIVILEGES: Record<string, readonly string[]> = {
  database: ["ALL", "CREATE", "CONNECT", "TEMPORARY"],
  schema: ["ALL", "CREATE", "USAGE"],
  table: ["ALL", "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"],
  sequence: ["ALL", "USAGE", "SELECT", "UPDATE"],
};

function grantTarget(p: Props): string {
  const type = p["objectType"] as string;
  const schema = p["schema"] as string | undefined;
  const objects = (p["objects"] as string[] | undefined) ?? [];
  if (type === "database") return `DATABASE ${quoteIdent(p["database"] as string)}`;
  if (type === "schema") return `SCHEMA ${quoteIdent(schema as string)}`;
  if (objects.length > 0) return `${type.toUpperCase()} ${objects.map((o) => `${quoteIdent(schema as string)}.${quoteIdent(o)}`).join(",")}`;
  return `ALL ${type.toUpperCase()}S IN SCHEMA ${quoteIdent(schema as string)}`;
}

async function revokeAndGrant(ctx: MaterializeContext, p: Props, grant: boolean): Promise<void> {
  const role = quoteIdent(p["role"] as string);
  const privileges = (p["privileges"] as string[]).map((x) => x.toUpperCase());
  await inTransaction(ctx, p["database"] as string, async (sql) => {
    await sql("SELECT pg_advisory_xact_lock(oid::bigint) FROM pg_catalog.pg_roles WHERE rolname = $1", [p["role"]]);
    if (p["objectType"] === "database") {
      await sql("SELECT pg_advisory_xact_lock(oid::bigint) FROM pg_catalog.pg_database WHERE datname = $1", [p["database"]]);
    }
    await sql(`REVOKE ALL PRIVILEGES ON ${grantTarget(p)} FROM ${role}`);
    if (grant && privileges.length > 0) {
      await sql(`GRANT ${privileges.join(",")} ON ${grantTarget(p)} TO ${role}${p["withGrantOption"] ? " WITH GRANT OPTION" : ""}`);
    }
  });
}

function grantId(p: Props): string {
  const parts = [p["role"], p["database"]];
  if (p["objectType"] !== "database") parts.push(p["schema"]);
  parts.push(p["objectType"]);
  return parts.join("_");
}

/** postgresql.Grant: REVOKE ALL then GRANT the listed privileges, in one transaction on the database. */
export const postgresqlGrant: Materializer = {
  type: GRANT,
  inputs: new Set(["database", "role", "schema", "objectType", "objects", "privileges", "withGrantOption"]),
  updatable: new Set(["privileges"]),
  validate(inputs) {
    requireString(GRANT, inputs, "database");
    requireString(GRANT, inputs, "role");
    refuseNested(GRANT, inputs, "objectType", Object.keys(GRANT_PRIVILEGES));
    const type = inputs["objectType"] as string;
    if (type !== "database" && !inputs["schema"]) throw new Error("parameter 'schema' is mandatory for postgresql_grant resource");
    if (((inputs["objects"] as string[] | undefined) ?? []).length > 0 && (type === "database" || type === "schema")) {
      throw new Error("cannot specify `objects` when `object_type` is `database` or `schema`");
    }
    if (!Array.isArray(inputs["privileges"])) throw new Error(`harness: ${GRANT} needs privileges (a list, empty to revoke all)`);
    for (const privilege of inputs["privileges"] as string[]) {
      if (!(GRANT_PRIVILEGES[type] ?? []).includes(privilege.toUpperCase())) {
        throw new Error(`${privilege} is not an allowed privilege for object type ${type}`);
      }
    }
  },
  async create(ctx, inputs): Promise<Created> {
    await revokeAndGrant(ctx, inputs, true);
    ctx.log(`granted ${grantId(inputs)}`);
    return { id: grantId(inputs), outputs: { withGrantOption: false, objects: [], ...inputs } };
  },
  async update(ctx, _id, _olds, news) {
    await revokeAndGrant(ctx, news, true);
    return { withGrantOption: false, objects: [], ...news };
  },
  async delete(ctx, _id, inputs) {
    const exists = await withClient(ctx, async (sql) => {
      const role = await sql("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", [inputs["role"]]);
      const db = await sql("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", [inputs["database"]]);
      return (role.rows.length > 0 || inputs["role"] === "public") && db.rows.length > 0;
    });
    if (exists) await revokeAndGrant(ctx, inputs, false);
    ctx.log(`revoked ${grantId(inputs)}`);
  },
};

// ---------------------------------------------------------------- DefaultPrivileges

const DEFAULT_PRIVILEGES = "postgresql:index/defaultPrivileges:DefaultPrivileges";

async function alterDefaults(ctx: MaterializeContext, p: Props, grant: boolean): Promise<void> {
  const owner = quoteIdent(p["owner"] as string);
  const inSchema = p["schema"] ? ` IN SCHEMA ${quoteIdent(p["schema"] as string)}` : "";
  const objects = `${(p["objectType"] as string).toUpperCase()}S`;
  const role = quoteIdent(p["role"] as string);
  const privileges = (p["privileges"] as string[]).map((x) => x.toUpperCase());
  await inTransaction(ctx, p["database"] as string, async (sql) => {
    await sql(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner}${inSchema} REVOKE ALL ON ${objects} FROM ${role}`);
    if (grant && privileges.length > 0) {
      await sql(
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${owner}${inSchema} GRANT ${privileges.join(",")} ON ${objects} TO ${role}${p["withGrantOption"] ? " WITH GRANT OPTION" : ""}`,
      );
    }
  });
}

function defaultPrivilegesId(p: Props): string {
  return [p["role"], p["database"], p["schema"] || "noschema", p["owner"], p["objectType"]].join("_");
}

/** postgresql.DefaultPrivileges: ALTER DEFAULT PRIVILEGES FOR ROLE owner ... REVOKE ALL, then GRANT. */
export const postgresqlDefaultPrivileges: Materializer = {
  type: DEFAULT_PRIVILEGES,
  inputs: new Set(["database", "owner", "role", "schema", "objectType", "privileges", "withGrantOption"]),
  updatable: new Set(),
  validate(inputs) {
    for (const field of ["database", "owner", "role"]) requireString(DEFAULT_PRIVILEGES, inputs, field);
    refuseNested(DEFAULT_PRIVILEGES, inputs, "objectType", ["table", "sequence"]);
    const type = inputs["objectType"] as string;
    for (const privilege of (inputs["privileges"] as string[] | undefined) ?? []) {
      if (!(GRANT_PRIVILEGES[type] ?? []).includes(privilege.toUpperCase())) {
        throw new Error(`${privilege} is not an allowed privilege for object type ${type}`);
      }
    }
  },
  async create(ctx, inputs): Promise<Created> {
    await alterDefaults(ctx, inputs, true);
    ctx.log(`set default privileges ${defaultPrivilegesId(inputs)}`);
    return { id: defaultPrivilegesId(inputs), outputs: { withGrantOption: false, ...inputs } };
  },
  async delete(ctx, _id, inputs) {
    const exists = await withClient(ctx, async (sql) => {
      const { rows } = await sql(
        "SELECT 1 FROM pg_catalog.pg_database d WHERE d.datname = $1 AND (SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname IN ($2, $3)) = 2",
        [inputs["database"], inputs["owner"], inputs["role"]],
      );
      return rows.length > 0;
    });
    if (exists) await alterDefaults(ctx, inputs, false);
    ctx.log(`revoked default privileges ${defaultPrivilegesId(inputs)}`);
  },
};

/** Every postgresql materializer, for the harness to register. */
export const postgresqlMaterializers: readonly Materializer[] = [postgresqlRole, postgresqlDatabase, postgresqlGrant, postgresqlDefaultPrivileges];
