import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import {
  applyTarget,
  DEFAULT_ACCESS_LIMITS,
  DEFAULT_ACCESS_NAMES,
  planDatabaseAccess,
  scramSha256Verifier,
  type AccessLimits,
  type AccessNames,
  type RoleKey,
} from "../grants";

/** Type token of {@link DatabaseRoles}. */
export const DATABASE_ROLES_TYPE = "krc:database:DatabaseRoles";

/**
 * How the Postgres provider reaches the server: as the superuser, from the Docker host, over TLS
 * with the stack CA and the superuser's client certificate (pg_hba demands both the password and
 * the certificate on that path).
 */
export interface DatabaseConnection {
  /** The database container's address on the internal network (reachable only from the host). */
  readonly host: pulumi.Input<string>;
  readonly port: number;
  readonly superuser: string;
  readonly superuserPassword: pulumi.Input<string>;
  /** The stack CA (PEM) the server certificate is checked against. */
  readonly caCertPem: pulumi.Input<string>;
  /** The superuser's client certificate and key (PEM), from `DatabaseTls`. */
  readonly clientCertPem: pulumi.Input<string>;
  readonly clientKeyPem: pulumi.Input<string>;
}

export interface DatabaseRolesArgs {
  readonly connection: DatabaseConnection;
  /** Each login role's password (generated, secret); a new value rotates it with ALTER ROLE. */
  readonly passwords: Readonly<Record<RoleKey, pulumi.Input<string>>>;
  /** The healthy database container: nothing here may touch Postgres before it is healthy. */
  readonly database: pulumi.Resource;
  readonly names?: AccessNames;
  readonly limits?: AccessLimits;
  /** Protect the app database from deletion (prod). */
  readonly protectData?: boolean;
}

/**
 * The database and its least-privilege roles, created through an explicit Postgres provider
 * (planned by `planDatabaseAccess`, see infra/grants.ts for the rules and their reasons).
 *
 * TLS: the provider uses `sslmode=verify-ca` because it connects to the container's address, which
 * Docker assigns at creation and so cannot be in a certificate issued before the container exists;
 * the CA is private to this stack and signs only this stack's certificates, and the client
 * certificate lacks the server-auth usage, so a certificate that verifies is this database's. The
 * provider takes `sslrootcert` as a path unless `clientcert.sslinline` is set, in which case its
 * driver (lib/pq) reads sslrootcert, sslcert and sslkey as PEM text: no file on the operator's disk.
 *
 * Rotating a role's password: bump its version in stack config and deploy. The role's password
 * (a SCRAM verifier of the new value, see `scramSha256Verifier`) changes, so the provider runs
 * ALTER ROLE; the consumers' uploaded secret files change, so their containers are replaced.
 *
 * Rotating the superuser's password (the provider's own credential) cannot be done by the provider:
 * it would have to log in with the new password to set it. The postgres image applies
 * POSTGRES_PASSWORD_FILE only to an empty data directory. So, as operator steps:
 * 1. `pulumi config set krc:postgresSuperuserPasswordVersion <n+1>` and `pulumi up`: a new password is
 *    generated and uploaded to the (replaced) database container; the cluster still has the old one.
 *    Change nothing else in that deploy: postgresql resources would fail to log in.
 * 2. Set it in the cluster through the container's Unix socket (peer identity, see infra/pg-hba.ts),
 *    reading the new file inside the container so the value never crosses a command line, and
 *    with statement logging off for that session so it never reaches the server log:
 *    `docker exec -i -u 999 krc-<stack>-db psql -v ON_ERROR_STOP=1 -d postgres` with stdin
 *    `SET log_statement = 'none';`, ``\set pw `cat /run/secrets/postgres_password` ``,
 *    `ALTER ROLE postgres PASSWORD :'pw';` (`rotateSuperuserPasswordSql` below).
 * 3. `pulumi up` again: no changes, and the provider logs in with the new password.
 */
export class DatabaseRoles extends pulumi.ComponentResource {
  /** The app database's name. */
  public readonly databaseName: pulumi.Output<string>;
  /** Role that owns the schema and runs the migrations. */
  public readonly ownerUser: pulumi.Output<string>;
  /** The API's runtime role. */
  public readonly appUser: pulumi.Output<string>;
  /** SELECT-only role for reports and backups. */
  public readonly readonlyUser: pulumi.Output<string>;

  constructor(name: string, args: DatabaseRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    const plan = planDatabaseAccess(args.names ?? DEFAULT_ACCESS_NAMES, args.limits ?? DEFAULT_ACCESS_LIMITS);
    validateConnection(args.connection);
    super(DATABASE_ROLES_TYPE, name, {}, opts);
    const { names } = plan;

    // The provider connects only once the database is healthy (the container's wait).
    const provider = new postgresql.Provider(
      `${name}-provider`,
      {
        host: args.connection.host,
        port: args.connection.port,
        username: args.connection.superuser,
        password: pulumi.secret(args.connection.superuserPassword),
        database: "postgres",
        sslmode: "verify-ca",
        sslrootcert: args.connection.caCertPem,
        clientcert: { cert: args.connection.clientCertPem, key: pulumi.secret(args.connection.clientKeyPem), sslinline: true },
        superuser: true,
        connectTimeout: 30,
      },
      { parent: this, dependsOn: [args.database] },
    );
    const childOpts = { parent: this, provider, dependsOn: [args.database] };

    const roles = {} as Record<RoleKey, postgresql.Role>;
    for (const role of plan.roles) {
      // One login role; neither superuser, CREATEDB, CREATEROLE nor a member of any other role.
      roles[role.key] = new postgresql.Role(
        `${name}-${role.key}`,
        {
          name: role.name,
          login: true,
          password: pulumi.secret(pulumi.output(args.passwords[role.key]).apply((password) => scramSha256Verifier(password, role.name))),
          connectionLimit: role.connectionLimit,
          ...(role.statementTimeoutMs > 0 ? { statementTimeout: role.statementTimeoutMs } : {}),
          ...(role.idleInTransactionSessionTimeoutMs > 0 ? { idleInTransactionSessionTimeout: role.idleInTransactionSessionTimeoutMs } : {}),
          roles: [],
        },
        childOpts,
      );
    }
    const roleName = (role: string): pulumi.Input<string> => {
      const found = plan.roles.find((r) => r.name === role);
      return found ? roles[found.key].name : role;
    };

    // The app database, owned by the owner role (so the schema `public` is too, via pg_database_owner).
    // It depends on every role so that a destroy drops it first: the provider's DROP OWNED runs in
    // its own database only, and a role still holding privileges in this one cannot be dropped.
    const database = new postgresql.Database(
      `${name}-database`,
      { name: names.database, owner: roles.owner.name, template: "template0", encoding: "UTF8", allowConnections: true },
      { ...childOpts, dependsOn: [args.database, ...Object.values(roles)], protect: args.protectData === true },
    );
    const databaseName = (db: string): pulumi.Input<string> => (db === names.database ? database.name : db);

    // A changed grant must be revoked before it is granted again: replacing create-first would
    // let the old grant's delete (REVOKE ALL) undo the new one.
    const grantOpts = { ...childOpts, deleteBeforeReplace: true };
    // Entries that rewrite the same catalog row run one after another (see `applyTarget`): the
    // provider's own locks would let them race.
    const previous = new Map<string, pulumi.Resource>();
    const after = (target: string): pulumi.CustomResourceOptions => {
      const before = previous.get(target);
      return { ...grantOpts, dependsOn: before === undefined ? grantOpts.dependsOn : [...grantOpts.dependsOn, before] };
    };
    for (const grant of plan.grants) {
      const target = applyTarget(grant);
      // Revokes all of the role's privileges on the object, then grants exactly these.
      const resource = new postgresql.Grant(
        `${name}-grant-${grant.key}`,
        {
          database: databaseName(grant.database),
          role: roleName(grant.role),
          objectType: grant.objectType,
          ...(grant.schema !== undefined ? { schema: grant.schema } : {}),
          privileges: [...grant.privileges],
        },
        after(target),
      );
      previous.set(target, resource);
    }
    for (const defaults of plan.defaultPrivileges) {
      const target = applyTarget(defaults);
      // What the owner's future tables and sequences grant at creation (migrations run as the owner).
      const resource = new postgresql.DefaultPrivileges(
        `${name}-default-${defaults.key}`,
        {
          database: database.name,
          schema: defaults.schema,
          owner: roleName(defaults.owner),
          role: roleName(defaults.role),
          objectType: defaults.objectType,
          privileges: [...defaults.privileges],
        },
        after(target),
      );
      previous.set(target, resource);
    }

    this.databaseName = database.name;
    this.ownerUser = roles.owner.name;
    this.appUser = roles.app.name;
    this.readonlyUser = roles.readonly.name;
    this.registerOutputs({
      databaseName: this.databaseName,
      ownerUser: this.ownerUser,
      appUser: this.appUser,
      readonlyUser: this.readonlyUser,
    });
  }
}

function validateConnection(connection: DatabaseConnection): void {
  if (!Number.isInteger(connection.port) || connection.port < 1 || connection.port > 65_535) {
    throw new Error(`DatabaseRoles connection.port must be an integer from 1 to 65535, got ${String(connection.port)}`);
  }
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(connection.superuser)) {
    throw new Error(`DatabaseRoles connection.superuser must be a lower-case PostgreSQL role name, got ${JSON.stringify(connection.superuser)}`);
  }
}

/**
 * psql input that sets the superuser's password from the secret file inside the database container
 * (step 2 of the superuser rotation above). The value is read by psql itself, never passed on a
 * command line, and statement logging is off for this session only.
 */
export function rotateSuperuserPasswordSql(superuser: string, passwordFile: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(superuser)) throw new Error(`superuser must be a lower-case PostgreSQL role name, got ${JSON.stringify(superuser)}`);
  if (!/^\/[A-Za-z0-9_./-]+$/.test(passwordFile)) throw new Error(`passwordFile must be an absolute path of [A-Za-z0-9_./-], got ${JSON.stringify(passwordFile)}`);
  return [
    "SET log_statement = 'none';",
    `\\set pw \`cat ${passwordFile}\``,
    `ALTER ROLE ${superuser} PASSWORD :'pw';`,
    "",
  ].join("\n");
}
