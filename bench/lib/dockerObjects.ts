/**
 * Docker objects the benchmarks create: all carry `krc.stack=bench` (plus `krc.project=krc`), and
 * are removed by that label, never by name patterns, so nothing of another stack is touched.
 */
import { createServer } from "node:net";
import { docker } from "./proc";

/** The stack label value of every object the benchmarks create. */
export const BENCH_STACK = "bench";
/** Name prefix of the benchmarks' objects. */
export const BENCH_PREFIX = "krc-bench";
/** `docker run`/`create` label flags for the benchmarks' objects. */
export const BENCH_LABELS = ["--label", "krc.project=krc", "--label", `krc.stack=${BENCH_STACK}`];

const FILTER = `label=krc.stack=${BENCH_STACK}`;

/** Removes every container, network and volume labeled `krc.stack=bench` (leftovers included). */
export async function removeBenchObjects(): Promise<void> {
  const ids = (await docker(["ps", "-aq", "--filter", FILTER])).stdout.split("\n").filter(Boolean);
  if (ids.length > 0) await docker(["rm", "-f", "-v", ...ids], { timeoutMs: 60_000 });
  const networks = (await docker(["network", "ls", "-q", "--filter", FILTER])).stdout.split("\n").filter(Boolean);
  if (networks.length > 0) await docker(["network", "rm", ...networks]);
  const volumes = (await docker(["volume", "ls", "-q", "--filter", FILTER])).stdout.split("\n").filter(Boolean);
  if (volumes.length > 0) await docker(["volume", "rm", ...volumes]);
}

/** `docker inspect` of one object, parsed. */
export async function inspect<T>(name: string, kind: "container" | "image" = "container"): Promise<T> {
  const out = await docker([kind, "inspect", name]);
  const list = JSON.parse(out.stdout) as T[];
  const first = list[0];
  if (first === undefined) throw new Error(`docker ${kind} inspect ${name}: nothing`);
  return first;
}

/** The parts of `docker container inspect` the benchmarks copy or read. */
export interface ContainerInfo {
  readonly Id: string;
  readonly Image: string;
  readonly Name: string;
  readonly State: { readonly Status: string; readonly Health?: { readonly Status: string } };
  readonly Config: { readonly User: string; readonly Cmd: string[] | null; readonly Entrypoint: string[] | null; readonly Env: string[]; readonly Image: string; readonly WorkingDir: string };
  readonly HostConfig: {
    readonly CapAdd: string[] | null;
    readonly CapDrop: string[] | null;
    readonly SecurityOpt: string[] | null;
    readonly ReadonlyRootfs: boolean;
    readonly Tmpfs: Record<string, string> | null;
    readonly Memory: number;
    readonly CpuShares: number;
    readonly PidsLimit: number | null;
  };
  readonly NetworkSettings: { readonly Networks: Record<string, { readonly IPAddress: string }> };
}

/**
 * `docker run` flags that reproduce a container's hardening and resource limits (user, capabilities,
 * no-new-privileges, read-only root, tmpfs, memory, CPU shares, pids), so a benchmark twin runs
 * under the same constraints as the deployed container it stands next to.
 */
export function hardeningFlags(info: ContainerInfo): string[] {
  const h = info.HostConfig;
  const flags: string[] = [];
  if (info.Config.User) flags.push("--user", info.Config.User);
  for (const cap of h.CapDrop ?? []) flags.push("--cap-drop", cap);
  for (const cap of h.CapAdd ?? []) flags.push("--cap-add", cap);
  for (const opt of h.SecurityOpt ?? []) flags.push("--security-opt", opt);
  if (h.ReadonlyRootfs) flags.push("--read-only");
  for (const [path, options] of Object.entries(h.Tmpfs ?? {})) flags.push("--tmpfs", options ? `${path}:${options}` : path);
  if (h.Memory > 0) flags.push("--memory", String(h.Memory));
  if (h.CpuShares > 0) flags.push("--cpu-shares", String(h.CpuShares));
  if (h.PidsLimit !== null && h.PidsLimit > 0) flags.push("--pids-limit", String(h.PidsLimit));
  return flags;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits until `probe` resolves true, polling every `everyMs`; throws `what` after `timeoutMs`. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
