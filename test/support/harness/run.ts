/** Helpers for tests that drive the harness CLI and clean up after it. */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import type { Summary } from "./engine";
import { docker } from "./providers/docker/engine";

const ROOT = resolve(__dirname, "../../..");
const CLI = resolve(__dirname, "cli.ts");
const TSX = resolve(ROOT, "node_modules/.bin/tsx");

/** One CLI run: exit code, output, the parsed summary line and the wall time. */
export interface HarnessRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly summary: Summary | undefined;
  readonly seconds: number;
}

/** Runs `cli.ts <args>` from the repository root. */
export function runHarness(args: readonly string[]): Promise<HarnessRun> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(TSX, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => {
      const line = /^harness: summary (\{.*\})$/m.exec(stdout);
      done({ code: code ?? 1, stdout, stderr, summary: line ? (JSON.parse(line[1] as string) as Summary) : undefined, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** Total of creates, updates, replaces and deletes. */
export function changes(s: Summary | undefined): number {
  if (s === undefined) throw new Error("the harness printed no summary");
  return s.create + s.update + s.replace + s.delete;
}

/** What is left on the engine with the label `krc.stack=<stack>`. */
export async function leftovers(stack: string): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const filters = { label: [`krc.stack=${stack}`] };
  const containers = (await docker.listContainers({ all: true, filters })).map((c) => c.Names[0] ?? c.Id);
  const networks = (await docker.listNetworks({ filters })).map((n) => n.Name);
  const volumes = ((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name);
  return { containers, networks, volumes };
}

/** Removes every container, network and volume labeled `krc.stack=<stack>` (a test stack's leftovers). */
export async function removeLeftovers(stack: string): Promise<void> {
  const filters = { label: [`krc.stack=${stack}`] };
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true, v: true });
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove();
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove();
}
