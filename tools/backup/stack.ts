/**
 * What backup and restore need from a stack.json (written by the live harness, or by hand for a
 * server from the stack outputs): the database container, the database, the CA, the role names and
 * the read-only role's password. Every field is checked so a wrong file fails before anything runs.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "./args";

/** The database side of a deployed stack. */
export interface BackupTarget {
  readonly stack: string;
  /** The database container; also its DNS name on the internal network, which its certificate names. */
  readonly dbContainer: string;
  readonly port: number;
  readonly database: string;
  /** Path of the stack's database CA certificate (PEM). */
  readonly caCert: string;
  /**
   * The role pg_dump logs in as: SELECT on every table and sequence, nothing else. Its password is
   * needed for a backup only; a restore reads role names, so its stack.json may hold no password.
   */
  readonly readonly: { readonly user: string; readonly password: string | undefined };
  /** Names of the app's roles (owner, app, readonly), which the dump's owners and grants refer to. */
  readonly roleNames: readonly string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === "string" && v !== "";

/** The app's roles; the superuser is not needed (and not used) by backup or restore. */
const APP_ROLES = ["owner", "app", "readonly"] as const;

/**
 * Reads and checks `path`; throws a UsageError naming the file and the field. `backup` needs the
 * read-only role's password; `restore` needs no password at all.
 */
export function loadBackupTarget(path: string, purpose: "backup" | "restore"): BackupTarget {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UsageError(`--stack-json ${path} is not readable JSON (${(err as Error).message})`);
  }
  const fail = (field: string, what: string): never => {
    throw new UsageError(`--stack-json ${path}: ${field} ${what}`);
  };
  if (!isObject(json)) return fail("the content", "must be an object");
  const stack = isString(json["stack"]) ? json["stack"] : fail("stack", "must be the stack name");
  const containers = Array.isArray(json["containers"]) ? json["containers"].filter(isString) : [];
  const dbContainer = containers.find((c) => c === `krc-${stack}-db`) ?? fail("containers", `must include krc-${stack}-db`);
  const pg = isObject(json["postgres"]) ? json["postgres"] : fail("postgres", "must be an object");
  const port = Number.isInteger(pg["port"]) && (pg["port"] as number) > 0 && (pg["port"] as number) < 65536 ? (pg["port"] as number) : fail("postgres.port", "must be a TCP port");
  const database = isString(pg["database"]) ? pg["database"] : fail("postgres.database", "must be the database name");
  const caCert = isString(pg["caCert"]) ? pg["caCert"] : fail("postgres.caCert", "must be the path of the database CA certificate");
  const roles = isObject(pg["roles"]) ? pg["roles"] : fail("postgres.roles", "must be an object");
  const user = (key: string): string => {
    const role = roles[key];
    return isObject(role) && isString(role["user"]) ? role["user"] : fail(`postgres.roles.${key}.user`, "must be the role name");
  };
  const roleNames = APP_ROLES.map(user);
  const reader = roles["readonly"] as Record<string, unknown>;
  const password = isString(reader["password"]) ? reader["password"] : undefined;
  if (purpose === "backup" && password === undefined) fail("postgres.roles.readonly.password", "must be the read-only role's password (the backup logs in as it)");
  return { stack, dbContainer, port, database, caCert, readonly: { user: user("readonly"), password }, roleNames };
}
