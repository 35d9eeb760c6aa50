import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRecipient } from "../../tools/backup/args";
import { checkIdentity } from "../../tools/backup/restore";

// Real age (Debian package `age`): the key format the argument check expects is the one age-keygen prints.
let dir = "";
let identity = "";
let other = "";
let encrypted = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "krc-backup-age-"));
  identity = join(dir, "id.txt");
  other = join(dir, "other.txt");
  execFileSync("age-keygen", ["-o", identity], { stdio: "ignore" });
  execFileSync("age-keygen", ["-o", other], { stdio: "ignore" });
  encrypted = join(dir, "data.age");
  const key = execFileSync("age-keygen", ["-y", identity], { encoding: "utf8" }).trim();
  execFileSync("age", ["--encrypt", "--recipient", key, "--output", encrypted], { input: "PGDMP and more" });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("age keys and identities", () => {
  it("accepts the public key when age-keygen printed it", () => {
    const key = execFileSync("age-keygen", ["-y", identity], { encoding: "utf8" }).trim();
    expect(parseRecipient(key)).toEqual({ kind: "key", key });
  });

  it("accepts a recipients file when it holds age-keygen's public keys", () => {
    const file = join(dir, "recipients.txt");
    writeFileSync(file, [identity, other].map((id) => execFileSync("age-keygen", ["-y", id], { encoding: "utf8" })).join(""));
    expect(parseRecipient(file)).toEqual({ kind: "file", path: file });
  });

  it("rejects an identity file when it is passed as the recipients", () => {
    expect(() => parseRecipient(identity)).toThrow(`--recipient ${identity} holds a secret key (AGE-SECRET-KEY-1...)`);
  });

  it("passes the identity check when the identity is the recipient's", async () => {
    await expect(checkIdentity(identity, encrypted)).resolves.toBeUndefined();
  });

  it("fails the identity check with age's reason when the identity is another key", async () => {
    await expect(checkIdentity(other, encrypted)).rejects.toThrow(`age cannot decrypt ${encrypted} with ${other} (exit 1): age: error: no identity matched any of the recipients`);
  });
});
