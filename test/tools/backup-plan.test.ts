import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../tools/backup/args";
import { ageEncryptArgs, connectionString, pgDumpRunArgs } from "../../tools/backup/backup";
import { parseRowCounts, prepareSql } from "../../tools/backup/restore";
import { loadBackupTarget, type BackupTarget } from "../../tools/backup/stack";

const PASSWORD = "readonly-password-never-in-argv";

const STACK = {
  stack: "t1",
  containers: ["krc-t1-db", "krc-t1-migrate", "krc-t1-api", "krc-t1-proxy"],
  postgres: {
    host: "172.30.0.2",
    port: 5432,
    database: "krc",
    caCert: "/state/postgres-ca.crt",
    roles: {
      superuser: { user: "postgres", password: "su" },
      owner: { user: "krc_owner", password: "o" },
      app: { user: "krc_app", password: "a" },
      readonly: { user: "krc_readonly", password: PASSWORD },
    },
  },
};

let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "krc-backup-plan-"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(content: unknown): string {
  const file = join(dir, `stack-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

const target = (): BackupTarget => loadBackupTarget(write(STACK), "backup");

describe("loadBackupTarget", () => {
  it("returns the database container, the read-only credentials and the app's role names when the file is complete", () => {
    expect(target()).toEqual({
      stack: "t1",
      dbContainer: "krc-t1-db",
      port: 5432,
      database: "krc",
      caCert: "/state/postgres-ca.crt",
      readonly: { user: "krc_readonly", password: PASSWORD },
      roleNames: ["krc_owner", "krc_app", "krc_readonly"],
    });
  });

  it.each([
    [{ ...STACK, stack: "" }, "stack must be the stack name"],
    [{ ...STACK, containers: ["krc-t1-api"] }, "containers must include krc-t1-db"],
    [{ ...STACK, postgres: { ...STACK.postgres, port: "5432" } }, "postgres.port must be a TCP port"],
    [{ ...STACK, postgres: { ...STACK.postgres, caCert: undefined } }, "postgres.caCert must be the path of the database CA certificate"],
    [{ ...STACK, postgres: { ...STACK.postgres, roles: { ...STACK.postgres.roles, readonly: { user: "krc_readonly" } } } }, "postgres.roles.readonly.password must be the read-only role's password (the backup logs in as it)"],
    [{ ...STACK, postgres: { ...STACK.postgres, roles: { ...STACK.postgres.roles, app: {} } } }, "postgres.roles.app.user must be the role name"],
  ])("rejects a stack.json for a backup when a field is wrong (%#)", (content, message) => {
    const file = write(content);
    expect(() => loadBackupTarget(file, "backup")).toThrow(new UsageError(`--stack-json ${file}: ${message}`));
  });

  it("needs no password when it loads a stack.json for a restore", () => {
    const roles = Object.fromEntries(Object.entries(STACK.postgres.roles).filter(([k]) => k !== "superuser").map(([k, v]) => [k, { user: v.user }]));
    const file = write({ ...STACK, postgres: { ...STACK.postgres, roles } });
    expect(loadBackupTarget(file, "restore")).toMatchObject({ readonly: { user: "krc_readonly", password: undefined }, roleNames: ["krc_owner", "krc_app", "krc_readonly"] });
  });

  it("rejects a file when it is not JSON", () => {
    const file = write("not json");
    expect(() => loadBackupTarget(file, "restore")).toThrow(/^--stack-json .* is not readable JSON \(Unexpected token/);
  });
});

describe("pgDumpRunArgs", () => {
  it("never puts the password on the command line when it builds the pg_dump container", () => {
    const args = pgDumpRunArgs(target(), "sha256:abc", "krc-t1-internal");
    expect(args.join(" ")).not.toContain(PASSWORD);
    expect(args).not.toContain("-e");
    expect(args).not.toContain("--env");
  });

  it("verifies the server against the stack CA and its name when it connects", () => {
    expect(connectionString(target())).toBe(
      "host=krc-t1-db port=5432 dbname=krc user=krc_readonly sslmode=verify-full sslrootcert=/run/krc-backup/ca.crt application_name=krc-backup",
    );
  });

  it("runs the database's own image, hardened and labelled with the stack, on its internal network", () => {
    const args = pgDumpRunArgs(target(), "sha256:abc", "krc-t1-internal");
    const pairs = (flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1] as string] : []));
    expect(pairs("--network")).toEqual(["krc-t1-internal"]);
    expect(pairs("--label")).toEqual(["krc.project=krc", "krc.stack=t1", "krc.service=backup"]);
    expect(pairs("--cap-drop")).toEqual(["ALL"]);
    expect(pairs("--security-opt")).toEqual(["no-new-privileges:true"]);
    expect(pairs("--user")).toEqual(["999:999"]);
    expect(pairs("--memory")).toEqual(["512m"]);
    expect(pairs("--mount")).toEqual(["type=bind,src=/state/postgres-ca.crt,dst=/run/krc-backup/ca.crt,readonly"]);
    expect(args).toContain("--read-only");
    expect(args).toContain("--rm");
    expect(args.slice(args.indexOf("sha256:abc"))).toEqual([
      "sha256:abc",
      "-c",
      'IFS= read -r PGPASSWORD && export PGPASSWORD && exec "$@"',
      "sh",
      "pg_dump",
      "--format=custom",
      "--no-password",
      connectionString(target()),
    ]);
  });
});

describe("ageEncryptArgs", () => {
  it.each([
    [{ kind: "key", key: "age1xyz" } as const, ["--encrypt", "--recipient", "age1xyz"]],
    [{ kind: "file", path: "/keys.txt" } as const, ["--encrypt", "--recipients-file", "/keys.txt"]],
  ])("encrypts to %j", (recipient, expected) => {
    expect(ageEncryptArgs(recipient)).toEqual(expected);
  });
});

describe("prepareSql", () => {
  it("creates the role names without login and the database owned by the owner role", () => {
    expect(prepareSql(["krc_owner", "krc_app", "krc_readonly"], "krc_restore_x")).toBe(
      "CREATE ROLE krc_owner NOLOGIN;\nCREATE ROLE krc_app NOLOGIN;\nCREATE ROLE krc_readonly NOLOGIN;\nCREATE DATABASE krc_restore_x OWNER krc_owner;\n",
    );
  });

  it("refuses a name when it is not a plain identifier", () => {
    expect(() => prepareSql(["krc_owner", 'x"; DROP'], "db")).toThrow('"x\\"; DROP" is not a lower-case PostgreSQL identifier');
  });
});

describe("parseRowCounts", () => {
  it("reads table|rows lines when psql prints them", () => {
    expect(parseRowCounts("public.clients|3\npublic.users|12\n")).toEqual({ "public.clients": 3, "public.users": 12 });
  });
});
