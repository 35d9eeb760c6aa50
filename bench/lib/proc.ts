/** Child processes with a hard time bound, for the benchmarks' external commands. */
import { execFile } from "node:child_process";
import { performance } from "node:perf_hooks";

/** What a finished command printed and how long it took. */
export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Options of {@link run}. */
export interface RunOptions {
  readonly cwd?: string;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs a command without a shell and resolves with its output and wall time; rejects with the
 * command, its exit status and the end of its stderr when it fails or runs past the timeout.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        const ms = performance.now() - started;
        if (error) {
          const tail = (stderr || stdout).trim().split("\n").slice(-8).join("\n");
          const why = error.killed ? `killed after ${options.timeoutMs ?? 120_000} ms` : `exit ${String(error.code)}`;
          reject(new Error(`${command} ${args.join(" ")} failed (${why}):\n${tail}`));
          return;
        }
        resolve({ stdout, stderr, ms });
      },
    );
  });
}

/** Runs `docker` with the given arguments (see {@link run}). */
export function docker(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run("docker", args, options);
}
