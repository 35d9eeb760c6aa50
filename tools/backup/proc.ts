/**
 * Child processes for backup and restore. Arguments go as argv arrays (no shell on the host) and
 * secrets only through stdin or a child's environment, never through argv, which `ps` shows.
 */
import { spawn, type ChildProcess } from "node:child_process";

/** How a finished child ended, with the tail of what it wrote to stderr. */
export interface Exit {
  readonly code: number;
  readonly stderr: string;
}

/** Keeps the last `limit` characters of a child's stderr, for an error message. */
function collectStderr(child: ChildProcess, limit = 4000): () => string {
  let text = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    text = (text + chunk.toString("utf8")).slice(-limit);
  });
  return () => text.trim();
}

/** Resolves when `child` has exited and its streams are closed; a spawn failure counts as code 127. */
export function exited(child: ChildProcess): Promise<Exit> {
  const stderr = collectStderr(child);
  return new Promise((resolve) => {
    child.on("error", (err) => resolve({ code: 127, stderr: `${stderr()}\n${err.message}`.trim() }));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal === null ? 1 : 128), stderr: stderr() }));
  });
}

/** Runs a command to completion; `input` is written to its stdin. */
export async function capture(command: string, args: readonly string[], input = ""): Promise<Exit & { stdout: string }> {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stdin.on("error", () => undefined);
  child.stdin.end(input);
  const exit = await exited(child);
  return { ...exit, stdout };
}

/** Like `capture`, but throws `what` with the command's stderr when it exits non-zero. */
export async function mustRun(what: string, command: string, args: readonly string[], input = ""): Promise<string> {
  const result = await capture(command, args, input);
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}): ${result.stderr || "no message"}`);
  return result.stdout;
}
