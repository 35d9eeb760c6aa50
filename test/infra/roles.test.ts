import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { DatabaseTls, validateDatabaseTlsArgs } from "../../infra/components/database-tls";
import { DatabaseRoles, rotateSuperuserPasswordSql, type DatabaseRolesArgs } from "../../infra/components/roles";
import { planDatabaseAccess, scramSha256Verifier } from "../../infra/grants";
import { unwrapDeep } from "../support/harness/secrets";
import { recordOptions, valueOf, type RecordedOptions } from "../support/mocks";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  provider?: string;
}

let registered: Registered[] = [];

/** Stands in for the database container the roles wait for. */
class Container extends pulumi.CustomResource {
  constructor(name: string) {
    super("docker:index/container:Container", name, {});
  }
}

const PASSWORDS = { owner: "owner-secret-1", app: "app-secret-1", readonly: "readonly-secret-1" };

function args(): DatabaseRolesArgs {
  return {
    connection: {
      host: "172.20.0.2",
      port: 5432,
      superuser: "postgres",
      superuserPassword: "super-secret-1",
      caCertPem: "CA PEM",
      clientCertPem: "CLIENT CERT PEM",
      clientKeyPem: "CLIENT KEY PEM",
    },
    passwords: PASSWORDS,
    database: new Container("db"),
  };
}

const byType = (type: string) => registered.filter((r) => r.type === type);
const inputsOf = (name: string) => registered.find((r) => r.name === name)?.inputs;

/** Waits until registrations stop arriving (the mocks register asynchronously). */
async function settled(): Promise<void> {
  let count = -1;
  while (count !== registered.length) {
    count = registered.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (mock) => {
        registered.push({ type: mock.type, name: mock.name, inputs: unwrapDeep(mock.inputs) as Record<string, unknown>, provider: mock.provider });
        return { id: `${mock.name}-id`, state: { ...mock.inputs, certPem: `${mock.name} PEM`, privateKeyPem: `${mock.name} KEY`, certRequestPem: `${mock.name} CSR` } };
      },
      call: (mock) => mock.inputs,
    },
    "krc",
    "test",
    false,
  );
});

describe("DatabaseRoles", () => {
  const options: RecordedOptions[] = [];
  beforeAll(async () => {
    registered = [];
    const roles = new DatabaseRoles("krc-test-roles", args(), { transformations: [recordOptions(options)] });
    await new Promise((resolve) => roles.readonlyUser.apply(resolve));
    await settled();
  });

  it("connects through one explicit provider as the superuser with verify-ca, the inline CA and the client certificate", () => {
    expect(byType("pulumi:providers:postgresql").map((p) => p.inputs)).toEqual([
      {
        host: "172.20.0.2",
        port: "5432",
        username: "postgres",
        password: "super-secret-1",
        database: "postgres",
        sslmode: "verify-ca",
        sslrootcert: "CA PEM",
        clientcert: JSON.stringify({ cert: "CLIENT CERT PEM", key: "CLIENT KEY PEM", sslinline: true }),
        superuser: "true",
        connectTimeout: "30",
      },
    ]);
  });

  it("uses the component's provider for every postgresql resource", () => {
    const resources = registered.filter((r) => r.type.startsWith("postgresql:"));
    expect(resources.length).toBeGreaterThan(0);
    for (const resource of resources) {
      expect(resource.provider).toMatch(/krc:database:DatabaseRoles\$pulumi:providers:postgresql::krc-test-roles-provider::/);
    }
  });

  it.each([
    ["krc-test-roles-owner", { name: "krc_owner", login: true, connectionLimit: 5, roles: [] }],
    ["krc-test-roles-app", { name: "krc_app", login: true, connectionLimit: 20, statementTimeout: 15_000, idleInTransactionSessionTimeout: 30_000, roles: [] }],
    ["krc-test-roles-readonly", { name: "krc_readonly", login: true, connectionLimit: 5, statementTimeout: 300_000, roles: [] }],
  ])("creates role %s with its limits, no extra powers and no memberships", (name, expected) => {
    const { password, ...rest } = inputsOf(name) ?? {};
    expect(rest).toEqual(expected);
    expect(password).toMatch(/^SCRAM-SHA-256\$4096:/);
  });

  it("gives each role the SCRAM verifier of its password, never the password itself", () => {
    expect(inputsOf("krc-test-roles-app")?.["password"]).toBe(scramSha256Verifier(PASSWORDS.app, "krc_app"));
    expect(JSON.stringify(registered)).not.toContain(PASSWORDS.app);
  });

  it("creates the app database owned by the owner role", () => {
    expect(inputsOf("krc-test-roles-database")).toEqual({ name: "krc", owner: "krc_owner", template: "template0", encoding: "UTF8", allowConnections: true });
  });

  it("creates one Grant per planned grant with the planned privileges", () => {
    const plan = planDatabaseAccess();
    const grants = byType("postgresql:index/grant:Grant");
    expect(grants.map((g) => g.name).sort()).toEqual(plan.grants.map((g) => `krc-test-roles-grant-${g.key}`).sort());
    expect(inputsOf("krc-test-roles-grant-public-postgres")).toEqual({ database: "postgres", role: "public", objectType: "database", privileges: [] });
    expect(inputsOf("krc-test-roles-grant-app-schema")).toEqual({ database: "krc", role: "krc_app", objectType: "schema", schema: "public", privileges: ["USAGE"] });
  });

  it("sets default privileges for the owner role on tables and sequences", () => {
    const key = (d: Record<string, unknown>) => `${String(d["role"])}-${String(d["objectType"])}`;
    const found = byType("postgresql:index/defaultPrivileges:DefaultPrivileges").map((d) => d.inputs);
    expect(found.sort((a, b) => key(a).localeCompare(key(b)))).toEqual([
      { database: "krc", schema: "public", owner: "krc_owner", role: "krc_app", objectType: "sequence", privileges: ["SELECT", "USAGE"] },
      { database: "krc", schema: "public", owner: "krc_owner", role: "krc_app", objectType: "table", privileges: ["DELETE", "INSERT", "SELECT", "UPDATE"] },
      { database: "krc", schema: "public", owner: "krc_owner", role: "krc_readonly", objectType: "sequence", privileges: ["SELECT"] },
      { database: "krc", schema: "public", owner: "krc_owner", role: "krc_readonly", objectType: "table", privileges: ["SELECT"] },
    ]);
  });

  it("applies grants and default privileges that rewrite the same catalog row one after another", async () => {
    const prefix = "krc-test-roles-";
    const waitsFor: Record<string, string[]> = {};
    for (const { type, name, opts } of options) {
      if (!/^postgresql:index\/(grant:Grant|defaultPrivileges:DefaultPrivileges)$/.test(type)) continue;
      const deps = await Promise.all(((opts.dependsOn ?? []) as pulumi.Resource[]).map(async (d) => (await valueOf(d.urn)).split("::").pop() as string));
      waitsFor[name.slice(prefix.length)] = deps.filter((d) => d !== "db").map((d) => d.slice(prefix.length));
      // Every one of them still waits for the healthy database container.
      expect(deps, name).toContain("db");
    }
    expect(waitsFor).toEqual({
      // The app database's ACL.
      "grant-public-db": [],
      "grant-owner-db": ["grant-public-db"],
      "grant-app-db": ["grant-owner-db"],
      "grant-readonly-db": ["grant-app-db"],
      // One grant each on the system databases' ACLs.
      "grant-public-postgres": [],
      "grant-public-template1": [],
      // The schema's ACL.
      "grant-public-schema": [],
      "grant-owner-schema": ["grant-public-schema"],
      "grant-app-schema": ["grant-owner-schema"],
      "grant-readonly-schema": ["grant-app-schema"],
      // Tables' and sequences' ACLs: one grant each.
      "grant-readonly-tables": [],
      "grant-readonly-sequences": [],
      // The owner's pg_default_acl rows for tables and for sequences.
      "default-app-tables": [],
      "default-readonly-tables": ["default-app-tables"],
      "default-app-sequences": [],
      "default-readonly-sequences": ["default-app-sequences"],
    });
  });

  it("rejects a bad port before registering anything", () => {
    const before = registered.length;
    const bad = args();
    expect(() => new DatabaseRoles("bad", { ...bad, connection: { ...bad.connection, port: 0 } })).toThrow(
      "DatabaseRoles connection.port must be an integer from 1 to 65535, got 0",
    );
    expect(registered.filter((r) => r.name.startsWith("bad"))).toHaveLength(0);
    expect(registered.length).toBeGreaterThanOrEqual(before);
  });

  it("rejects a bad role name before registering anything", () => {
    expect(() => new DatabaseRoles("bad2", { ...args(), names: { database: "krc", schema: "public", owner: "krc_owner", app: "App", readonly: "krc_readonly" } })).toThrow(
      /^names\.app must be a lower-case PostgreSQL identifier/,
    );
  });
});

describe("DatabaseTls", () => {
  beforeAll(async () => {
    registered = [];
    const pki = new DatabaseTls("krc-test-dbtls", { serverDnsNames: ["krc-test-db"], clientRole: "postgres" });
    await new Promise((resolve) => pki.clientCertPem.apply(resolve));
    await settled();
  });

  it("creates a CA that may sign leaf certificates only", () => {
    expect(inputsOf("krc-test-dbtls-ca")).toEqual({
      privateKeyPem: "krc-test-dbtls-ca-key KEY",
      subject: { commonName: "krc-test-dbtls database CA", organization: "krc" },
      isCaCertificate: true,
      maxPathLength: 0,
      setSubjectKeyId: true,
      validityPeriodHours: 87_600,
      allowedUses: ["cert_signing", "crl_signing"],
    });
  });

  it("issues the server certificate for the database's DNS name with the server-auth usage", () => {
    expect(inputsOf("krc-test-dbtls-server-csr")).toMatchObject({ subject: { commonName: "krc-test-db" }, dnsNames: ["krc-test-db"] });
    expect(inputsOf("krc-test-dbtls-server-cert")).toMatchObject({
      caCertPem: "krc-test-dbtls-ca PEM",
      allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      validityPeriodHours: 8_760,
      earlyRenewalHours: 720,
    });
  });

  it("issues the superuser's client certificate with the client-auth usage only", () => {
    expect(inputsOf("krc-test-dbtls-client-csr")).toMatchObject({ subject: { commonName: "postgres" }, dnsNames: [] });
    expect(inputsOf("krc-test-dbtls-client-cert")?.["allowedUses"]).toEqual(["digital_signature", "client_auth"]);
  });

  it("uses ECDSA P-256 for every key", () => {
    expect(byType("tls:index/privateKey:PrivateKey").map((k) => k.inputs)).toEqual(Array(3).fill({ algorithm: "ECDSA", ecdsaCurve: "P256" }));
  });

  it.each([
    [{ serverDnsNames: [], clientRole: "postgres" }, "DatabaseTls serverDnsNames must list at least one DNS name (the database container's name)"],
    [{ serverDnsNames: ["Bad_Name"], clientRole: "postgres" }, 'DatabaseTls serverDnsNames must be lower-case DNS names, got "Bad_Name"'],
    [{ serverDnsNames: ["db"], clientRole: "Postgres" }, 'DatabaseTls clientRole must be a lower-case PostgreSQL role name, got "Postgres"'],
    [{ serverDnsNames: ["db"], clientRole: "postgres", leafValidityHours: 100, earlyRenewalHours: 100 }, "DatabaseTls earlyRenewalHours (100) must be less than leafValidityHours (100)"],
    [{ serverDnsNames: ["db"], clientRole: "postgres", caValidityHours: 10 }, "DatabaseTls leafValidityHours (8760) must not exceed caValidityHours (10)"],
  ])("rejects %j with a message naming the field", (bad, message) => {
    expect(() => validateDatabaseTlsArgs(bad)).toThrow(message);
  });
});

describe("rotateSuperuserPasswordSql", () => {
  it("reads the password inside the container and turns statement logging off first", () => {
    expect(rotateSuperuserPasswordSql("postgres", "/run/secrets/postgres_password")).toMatchInlineSnapshot(`
      "SET log_statement = 'none';
      \\set pw \`cat /run/secrets/postgres_password\`
      ALTER ROLE postgres PASSWORD :'pw';
      "
    `);
  });

  it("rejects a path that would need shell quoting", () => {
    expect(() => rotateSuperuserPasswordSql("postgres", "/run/secrets/x; rm -rf /")).toThrow(
      'passwordFile must be an absolute path of [A-Za-z0-9_./-], got "/run/secrets/x; rm -rf /"',
    );
  });
});
