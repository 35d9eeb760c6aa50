/**
 * `npm run backup`: pg_dump (custom format) as the read-only role, over TLS verified against the
 * stack's CA, piped straight into `age -e`; only ciphertext reaches the disk.
 *
 * pg_dump runs in a throwaway container of the database container's own image on its internal
 * network: a pg_dump must be at least the server's version, and the image's own is exactly it (the
 * official image is 17 by default, Debian 12's host client is 15), with nothing to install on the
 * server. The container is hardened like the stack's, labelled with the stack, removed on exit.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, renameSync, rmSync, statSync } from "node:fs";
import { spawn } from "node:child_process";
import { finished } from "node:stream/promises";
import type { BackupArgs, Recipient } from "./args";
import { hardenedRunFlags, inspectDatabase } from "./docker";
import { exited } from "./proc";
import type { BackupTarget } from "./stack";

/** Where the CA certificate is mounted in the pg_dump container (read-only). */
const CA_IN_CONTAINER = "/run/krc-backup/ca.crt";

/**
 * The shell line the container runs: the password arrives as the first line of stdin and goes only
 * into pg_dump's environment. `read` takes it from the pipe; argv (seen by `ps`) never holds it.
 */
const READ_PASSWORD_THEN = 'IFS= read -r PGPASSWORD && export PGPASSWORD && exec "$@"';

/** libpq connection string: verify-full checks the chain against the stack CA and the server's name. */
export function connectionString(target: BackupTarget): string {
  return [
    `host=${target.dbContainer}`,
    `port=${target.port}`,
    `dbname=${target.database}`,
    `user=${target.readonly.user}`,
    "sslmode=verify-full",
    `sslrootcert=${CA_IN_CONTAINER}`,
    "application_name=krc-backup",
  ].join(" ");
}

/** `docker run` arguments of the pg_dump container (no secret among them). */
export function pgDumpRunArgs(target: BackupTarget, image: string, network: string): string[] {
  return [
    "run",
    "--rm",
    "-i",
    "--name",
    `krc-${target.stack}-backup-${randomBytes(4).toString("hex")}`,
    "--network",
    network,
    ...hardenedRunFlags(target.stack, "backup"),
    "--mount",
    `type=bind,src=${target.caCert},dst=${CA_IN_CONTAINER},readonly`,
    "--entrypoint",
    "/bin/sh",
    image,
    "-c",
    READ_PASSWORD_THEN,
    "sh",
    "pg_dump",
    "--format=custom",
    "--no-password",
    connectionString(target),
  ];
}

/** `age` arguments that encrypt stdin to the recipient(s). */
export function ageEncryptArgs(recipient: Recipient): string[] {
  return ["--encrypt", ...(recipient.kind === "key" ? ["--recipient", recipient.key] : ["--recipients-file", recipient.path])];
}

/** What a finished backup reports. */
export interface BackupResult {
  readonly out: string;
  readonly bytes: number;
  readonly image: string;
}

/**
 * Dumps and encrypts into `<out>.partial` (mode 0600), renamed to `out` only when pg_dump and age
 * both succeeded: a failed or cut-off dump never leaves a file that looks like a backup.
 */
export async function runBackup(args: BackupArgs, target: BackupTarget): Promise<BackupResult> {
  const password = target.readonly.password;
  if (password === undefined) throw new Error(`no password for ${target.readonly.user}: load the stack.json for a backup`);
  const { image, network } = await inspectDatabase(target.dbContainer);
  const partial = `${args.out}.partial`;
  const file = createWriteStream(partial, { flags: "wx", mode: 0o600 });
  await new Promise<void>((resolve, reject) => file.once("open", () => resolve()).once("error", reject));
  try {
    const dump = spawn("docker", pgDumpRunArgs(target, image, network), { stdio: ["pipe", "pipe", "pipe"] });
    const age = spawn("age", ageEncryptArgs(args.recipient), { stdio: ["pipe", "pipe", "pipe"] });
    const dumpExit = exited(dump);
    const ageExit = exited(age);
    dump.stdin.on("error", () => undefined);
    dump.stdin.end(`${password}\n`);
    dump.stdout.pipe(age.stdin);
    age.stdout.pipe(file);
    const [d, a] = await Promise.all([dumpExit, ageExit, finished(file)]);
    if (d.code !== 0) throw new Error(`pg_dump as ${target.readonly.user} failed (exit ${d.code}): ${d.stderr || "no message"}`);
    if (a.code !== 0) throw new Error(`age failed (exit ${a.code}): ${a.stderr || "no message"}`);
    renameSync(partial, args.out);
  } catch (err) {
    file.destroy();
    rmSync(partial, { force: true });
    throw err;
  }
  return { out: args.out, bytes: statSync(args.out).size, image };
}
