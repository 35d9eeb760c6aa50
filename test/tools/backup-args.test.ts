import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKUP_USAGE, defaultTargetDatabase, parseBackupArgs, parseRecipient, parseRestoreArgs, RESTORE_USAGE, UsageError } from "../../tools/backup/args";

// Keys of the shape age-keygen prints (bech32 charset, 58 characters after the prefix).
const KEY = "age1amvzxk29gzcnly9n5c4g5vees78d0qh7famhhkzhkp3npm6dhs3qvhmhee";
const SECRET = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";

let dir = "";
let stackJson = "";
let identity = "";
let backupFile = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "krc-backup-args-"));
  stackJson = join(dir, "stack.json");
  identity = join(dir, "id.txt");
  backupFile = join(dir, "existing.age");
  for (const file of [stackJson, identity, backupFile]) writeFileSync(file, "{}\n");
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function usageError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error("expected a UsageError");
}

describe("parseBackupArgs", () => {
  it("returns absolute paths and the key when every argument is valid", () => {
    const out = join(dir, "new.age");
    expect(parseBackupArgs(["--stack-json", stackJson, "--recipient", KEY, "--out", out])).toEqual({
      stackJson,
      recipient: { kind: "key", key: KEY },
      out,
    });
  });

  it.each([
    [[], `--stack-json is required: the stack.json of the deployed stack\n${BACKUP_USAGE}`],
    [["--stack-json", "@s"], `--recipient is required: an age public key (age1...) or a file of them\n${BACKUP_USAGE}`],
    [["--stack-json", "@s", "--recipient", KEY], `--out is required: the encrypted backup file to create\n${BACKUP_USAGE}`],
    [["--stack-json", "/nonexistent/stack.json"], "--stack-json /nonexistent/stack.json is not a readable file"],
    [["--stack-json", "@s", "--recipient", KEY, "--out", "@b"], "--out @b already exists: a backup is never overwritten; choose a new file name"],
    [["--stack-json", "@s", "--recipient", KEY, "--out", "/nonexistent/x.age"], "--out /nonexistent/x.age: directory /nonexistent does not exist"],
    [["--stack-json", "@s", "--recipient", "age1short"], '--recipient "age1short" is not an age public key (age1 followed by 58 bech32 characters)'],
    [["--stack-json", "@s", "--recipient", SECRET], "--recipient is a secret key (AGE-SECRET-KEY-1...): pass the public key (age-keygen -y <identity file> prints it); the identity stays offline"],
    [["--stack-json", "@s", "--recipient", "/nonexistent/keys.txt"], "--recipient /nonexistent/keys.txt is not a readable file"],
    [["--stack-json", "@s", "--password", "x"], `Unknown option '--password'\n${BACKUP_USAGE}`],
  ])("rejects %j with an exact message", (argv, message) => {
    const resolved = argv.map((a) => (a === "@s" ? stackJson : a === "@b" ? backupFile : a));
    const expected = message.replace("@b", backupFile);
    expect(usageError(() => parseBackupArgs(resolved))).toBe(expected);
  });

  it("creates no file when it rejects the arguments", () => {
    const before = readdirSync(dir).sort();
    usageError(() => parseBackupArgs(["--stack-json", stackJson, "--recipient", "age1short", "--out", join(dir, "never.age")]));
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});

describe("parseRecipient", () => {
  it("accepts a file of public keys with comments and blank lines", () => {
    const file = join(dir, "recipients.txt");
    writeFileSync(file, `# created: today\n${KEY}\n\n${KEY}\n`);
    expect(parseRecipient(file)).toEqual({ kind: "file", path: file });
  });

  it("rejects an identity file passed as recipients when it holds a secret key", () => {
    const file = join(dir, "identity-as-recipient.txt");
    writeFileSync(file, `# created: today\n# public key: ${KEY}\n${SECRET}\n`);
    expect(usageError(() => parseRecipient(file))).toBe(
      `--recipient ${file} holds a secret key (AGE-SECRET-KEY-1...): pass a file of public keys (age-keygen -y <identity file> prints one); the identity stays offline`,
    );
  });

  it("rejects a file when a line is not an age public key", () => {
    const file = join(dir, "bad-recipients.txt");
    writeFileSync(file, `${KEY}\nssh-ed25519 AAAAC3Nza\n`);
    expect(usageError(() => parseRecipient(file))).toBe(`--recipient ${file} must hold one or more age public keys (age1...), one a line, not "ssh-ed25519 AAAAC3Nz"`);
  });

  it("rejects a file when it holds no key", () => {
    const file = join(dir, "empty-recipients.txt");
    writeFileSync(file, "# nothing\n");
    expect(usageError(() => parseRecipient(file))).toBe(`--recipient ${file} must hold one or more age public keys (age1...), one a line; it holds none`);
  });
});

describe("parseRestoreArgs", () => {
  it("returns the files and leaves the target database to the default when it is not given", () => {
    expect(parseRestoreArgs(["--stack-json", stackJson, "--identity", identity, "--in", backupFile])).toEqual({
      stackJson,
      identity,
      input: backupFile,
      targetDatabase: undefined,
      image: undefined,
    });
  });

  it.each([
    [[], `--stack-json is required: the stack.json of the deployed stack\n${RESTORE_USAGE}`],
    [["--stack-json", "@s"], `--identity is required: the age identity file (from age-keygen) the backup was encrypted to\n${RESTORE_USAGE}`],
    [["--stack-json", "@s", "--identity", "@i"], `--in is required: the encrypted backup file\n${RESTORE_USAGE}`],
    [["--stack-json", "@s", "--identity", "/nonexistent/id"], "--identity /nonexistent/id is not a readable file"],
    [["--stack-json", "@s", "--identity", "@i", "--in", "/nonexistent/b.age"], "--in /nonexistent/b.age is not a readable file"],
    [
      ["--stack-json", "@s", "--identity", "@i", "--in", "@b", "--target-database", "template1"],
      '--target-database must be a lower-case PostgreSQL identifier (letters, digits, underscore; at most 63; not starting with a digit) other than postgres, template0, template1, got "template1"',
    ],
    [
      ["--stack-json", "@s", "--identity", "@i", "--in", "@b", "--target-database", "Krc; DROP"],
      '--target-database must be a lower-case PostgreSQL identifier (letters, digits, underscore; at most 63; not starting with a digit) other than postgres, template0, template1, got "Krc; DROP"',
    ],
    [["--stack-json", "@s", "--identity", "@i", "--in", "@b", "--image=--rm"], '--image must be an image reference such as postgres:17@sha256:<digest>, got "--rm"'],
  ])("rejects %j with an exact message", (argv, message) => {
    const resolved = argv.map((a) => (a === "@s" ? stackJson : a === "@i" ? identity : a === "@b" ? backupFile : a));
    expect(usageError(() => parseRestoreArgs(resolved))).toBe(message);
  });
});

describe("defaultTargetDatabase", () => {
  it("names the database after the UTC time when no name is given", () => {
    expect(defaultTargetDatabase(new Date("2026-12-03T14:20:05.123Z"))).toBe("krc_restore_20261203t142005");
  });
});
