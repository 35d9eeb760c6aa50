/**
 * `npm run backup -- --stack-json <file> --recipient <age key | file> --out <file>`
 * `npm run restore -- --stack-json <file> --identity <file> --in <file> [--target-database <name>] [--image <ref>]`
 *
 * Exit status: 0 done, 1 the backup or restore failed, 2 bad arguments (nothing was changed).
 * Runbook: docs/backup.md.
 */
import { parseBackupArgs, parseRestoreArgs, UsageError } from "./args";
import { runBackup } from "./backup";
import { runRestore } from "./restore";
import { loadBackupTarget } from "./stack";

async function backup(argv: readonly string[]): Promise<void> {
  const args = parseBackupArgs(argv);
  const target = loadBackupTarget(args.stackJson, "backup");
  const result = await runBackup(args, target);
  console.log(`backup: wrote ${result.out} (${result.bytes} bytes, age-encrypted pg_dump of ${target.database} as ${target.readonly.user}, pg_dump from ${result.image})`);
}

async function restore(argv: readonly string[]): Promise<void> {
  const args = parseRestoreArgs(argv);
  const target = loadBackupTarget(args.stackJson, "restore");
  const result = await runRestore(args, target);
  console.log(`restore: ${args.input} restored into database ${result.database} of the scratch container ${result.container} (image ${result.image})`);
  for (const [table, rows] of Object.entries(result.rowCounts)) console.log(`  ${table}: ${rows} rows`);
  console.log(`inspect: docker exec -it -u 999 ${result.container} psql -d ${result.database}`);
  console.log(`remove:  docker rm -f -v ${result.container} && docker volume rm ${result.volume}`);
}

const [command, ...rest] = process.argv.slice(2);
const run = command === "backup" ? backup : command === "restore" ? restore : undefined;
if (run === undefined) {
  console.error(`backup: the first argument must be backup or restore, got ${JSON.stringify(command ?? "")}`);
  process.exitCode = 2;
} else {
  run(rest).then(
    () => undefined,
    (err: unknown) => {
      const usage = err instanceof UsageError;
      console.error(`${command}: ${(err as Error).message}`);
      process.exitCode = usage ? 2 : 1;
    },
  );
}
