/**
 * Command-line arguments of `npm run backup` and `npm run restore`, checked before anything runs:
 * a bad argument stops with a message naming the option, the problem and what is allowed.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";

/** Usage lines, printed with every argument error. */
export const BACKUP_USAGE = "usage: npm run backup -- --stack-json <file> --recipient <age public key | file of them> --out <file>";
export const RESTORE_USAGE =
  "usage: npm run restore -- --stack-json <file> --identity <age identity file> --in <file> [--target-database <name>] [--image <postgres image>]";

/** An argument error: the message is for the operator, with no stack trace. */
export class UsageError extends Error {}

/** Where `age -e` gets its recipients: one key on the command line, or a file of keys (`-R`). */
export type Recipient = { readonly kind: "key"; readonly key: string } | { readonly kind: "file"; readonly path: string };

/** Checked arguments of `npm run backup`. */
export interface BackupArgs {
  readonly stackJson: string;
  readonly recipient: Recipient;
  /** Absolute path of the encrypted backup to create; it does not exist yet. */
  readonly out: string;
}

/** Checked arguments of `npm run restore`. */
export interface RestoreArgs {
  readonly stackJson: string;
  readonly identity: string;
  readonly input: string;
  /** The database to create in the scratch server; undefined: `krc_restore_<UTC timestamp>`. */
  readonly targetDatabase: string | undefined;
  /** Image of the scratch server; undefined: the image the stack's database container runs. */
  readonly image: string | undefined;
}

/** An age X25519 public key: `age1` and 58 bech32 characters. */
export const AGE_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;
const AGE_SECRET = /^AGE-SECRET-KEY-1/;
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const SYSTEM_DATABASES = ["postgres", "template0", "template1"];

function parse(argv: readonly string[], options: Record<string, { type: "string" }>, usage: string): Record<string, string | undefined> {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${usage}`);
  }
}

function required(values: Record<string, string | undefined>, name: string, what: string, usage: string): string {
  const value = values[name];
  if (value === undefined || value === "") throw new UsageError(`--${name} is required: ${what}\n${usage}`);
  return value;
}

function readableFile(option: string, path: string): string {
  const absolute = resolve(path);
  try {
    if (!statSync(absolute).isFile()) throw new Error("not a file");
    accessSync(absolute, constants.R_OK);
  } catch {
    throw new UsageError(`--${option} ${path} is not a readable file`);
  }
  return absolute;
}

/** A key, or a file whose non-comment lines are all age public keys (what `age -R` reads). */
export function parseRecipient(value: string): Recipient {
  if (AGE_SECRET.test(value)) {
    throw new UsageError("--recipient is a secret key (AGE-SECRET-KEY-1...): pass the public key (age-keygen -y <identity file> prints it); the identity stays offline");
  }
  if (AGE_RECIPIENT.test(value)) return { kind: "key", key: value };
  if (value.startsWith("age1")) {
    throw new UsageError(`--recipient ${JSON.stringify(value)} is not an age public key (age1 followed by 58 bech32 characters)`);
  }
  const path = readableFile("recipient", value);
  const lines = readFileSync(path, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  if (lines.some((line) => AGE_SECRET.test(line))) {
    throw new UsageError(`--recipient ${value} holds a secret key (AGE-SECRET-KEY-1...): pass a file of public keys (age-keygen -y <identity file> prints one); the identity stays offline`);
  }
  const bad = lines.find((line) => !AGE_RECIPIENT.test(line));
  if (lines.length === 0 || bad !== undefined) {
    throw new UsageError(`--recipient ${value} must hold one or more age public keys (age1...), one a line${bad === undefined ? "; it holds none" : `, not ${JSON.stringify(bad.slice(0, 20))}`}`);
  }
  return { kind: "file", path };
}

/** Parses and checks `npm run backup` arguments; changes nothing on disk. */
export function parseBackupArgs(argv: readonly string[]): BackupArgs {
  const values = parse(argv, { "stack-json": { type: "string" }, recipient: { type: "string" }, out: { type: "string" } }, BACKUP_USAGE);
  const stackJson = readableFile("stack-json", required(values, "stack-json", "the stack.json of the deployed stack", BACKUP_USAGE));
  const recipient = parseRecipient(required(values, "recipient", "an age public key (age1...) or a file of them", BACKUP_USAGE));
  const outArg = required(values, "out", "the encrypted backup file to create", BACKUP_USAGE);
  const out = resolve(outArg);
  if (existsSync(out)) throw new UsageError(`--out ${outArg} already exists: a backup is never overwritten; choose a new file name`);
  if (!existsSync(dirname(out)) || !statSync(dirname(out)).isDirectory()) {
    throw new UsageError(`--out ${outArg}: directory ${dirname(out)} does not exist`);
  }
  return { stackJson, recipient, out };
}

/** Default name of the restored database: `krc_restore_20261203T142000`, in UTC. */
export function defaultTargetDatabase(now: Date): string {
  return `krc_restore_${now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").toLowerCase()}`;
}

/** Parses and checks `npm run restore` arguments; changes nothing. */
export function parseRestoreArgs(argv: readonly string[]): RestoreArgs {
  const values = parse(
    argv,
    { "stack-json": { type: "string" }, identity: { type: "string" }, in: { type: "string" }, "target-database": { type: "string" }, image: { type: "string" } },
    RESTORE_USAGE,
  );
  const stackJson = readableFile("stack-json", required(values, "stack-json", "the stack.json of the deployed stack", RESTORE_USAGE));
  const identity = readableFile("identity", required(values, "identity", "the age identity file (from age-keygen) the backup was encrypted to", RESTORE_USAGE));
  const input = readableFile("in", required(values, "in", "the encrypted backup file", RESTORE_USAGE));
  const target = values["target-database"];
  if (target !== undefined && (!IDENTIFIER.test(target) || SYSTEM_DATABASES.includes(target))) {
    throw new UsageError(
      `--target-database must be a lower-case PostgreSQL identifier (letters, digits, underscore; at most 63; not starting with a digit) other than ${SYSTEM_DATABASES.join(", ")}, got ${JSON.stringify(target)}`,
    );
  }
  const image = values["image"];
  if (image !== undefined && !/^[a-z0-9][a-z0-9._/:@-]*$/.test(image)) {
    throw new UsageError(`--image must be an image reference such as postgres:17@sha256:<digest>, got ${JSON.stringify(image)}`);
  }
  return { stackJson, identity, input, targetDatabase: target, image };
}
