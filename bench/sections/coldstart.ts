/**
 * Section 4, cold start: a fresh API container, from `docker start` to its first 200 on /healthz,
 * running the bundled single file (the deployed image's command) against the same image running
 * the unbundled TypeScript sources with tsx (sources and node_modules bind-mounted read-only).
 *
 * Both twins copy the deployed API container's environment, hardening and limits, run on their own
 * labeled network with throwaway secret files (never the stack's), and are polled over HTTP from
 * the host every 10 ms. Docker's own `healthy` status is not used as the end mark: its first check
 * runs one healthcheck interval after start (10 s in the stack), which would hide the difference.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { API_PORT } from "../../infra/naming";
import { BENCH_LABELS, BENCH_PREFIX, hardeningFlags, inspect, waitFor, type ContainerInfo } from "../lib/dockerObjects";
import { docker } from "../lib/proc";
import { median, type Figure } from "../lib/stats";

const REPO = resolve(__dirname, "..", "..");
/** Measured starts of each variant (alternating, after one unmeasured start of each). */
export const COLD_RUNS = 3;
const READY_TIMEOUT_MS = 60_000;

function healthz(ip: string, host: string): Promise<boolean> {
  return new Promise((done) => {
    const req = request({ host: ip, port: API_PORT, path: "/healthz", headers: { host }, timeout: 1_000, agent: false }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on("error", () => done(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** Throwaway secret files for every `*_FILE` variable of the deployed environment, readable by `user`. */
function throwawaySecrets(env: readonly string[], dbCaPem: string, user: string): { dir: string; mounts: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "krc-bench-cold-"));
  chmodSync(dir, 0o755);
  const [uid, gid] = user.split(":").map(Number);
  const mounts: string[] = [];
  for (const entry of env) {
    const [key, path] = entry.split("=", 2) as [string, string | undefined];
    if (!key.endsWith("_FILE") || !path) continue;
    const local = join(dir, basename(path));
    // The database CA is public and real (the pool is created at start); every secret is fresh noise.
    writeFileSync(local, key === "DATABASE_CA_FILE" ? dbCaPem : `${randomBytes(32).toString("hex")}\n`, { mode: 0o400 });
    if (uid !== undefined && gid !== undefined && !Number.isNaN(uid)) chownSync(local, uid, gid ?? uid);
    mounts.push("-v", `${local}:${path}:ro`);
  }
  return { dir, mounts };
}

/** Start-to-ready of one fresh container; removes it afterwards. */
async function startOnce(createArgs: string[], name: string, network: string, host: string): Promise<number> {
  await docker(["create", "--name", name, ...createArgs]);
  try {
    const started = performance.now();
    await docker(["start", name]);
    const info = await inspect<ContainerInfo>(name);
    const ip = info.NetworkSettings.Networks[network]?.IPAddress;
    if (!ip) throw new Error(`${name} has no address on ${network}`);
    await waitFor(`${name} to answer /healthz`, () => healthz(ip, host), READY_TIMEOUT_MS, 10);
    return performance.now() - started;
  } catch (e) {
    const logs = await docker(["logs", "--tail", "20", name]).catch(() => ({ stdout: "", stderr: "" }));
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${logs.stdout}${logs.stderr}`);
  } finally {
    await docker(["rm", "-f", "-v", name]).catch(() => undefined);
  }
}

/** Runs the section next to the deployed API container `api`. */
export async function benchColdStart(api: string, dbCaPem: string, log: (line: string) => void): Promise<Figure[]> {
  const info = await inspect<ContainerInfo>(api);
  const network = `${BENCH_PREFIX}-cold`;
  const host = (info.Config.Env.find((e) => e.startsWith("ALLOWED_HOSTS="))?.slice("ALLOWED_HOSTS=".length) ?? "").split(",")[0] ?? "";
  const secrets = throwawaySecrets(info.Config.Env, dbCaPem, info.Config.User);
  const common = [...BENCH_LABELS, "--network", network, ...hardeningFlags(info), ...info.Config.Env.flatMap((e) => ["-e", e]), ...secrets.mounts];
  const bundled = [...common, info.Image];
  const unbundled = [
    ...common,
    ...["app", "node_modules", "package.json", "tsconfig.json"].flatMap((p) => ["-v", `${join(REPO, p)}:/src/${p}:ro`]),
    "--workdir", "/src",
    "--entrypoint", "node",
    info.Image,
    "--import", "/src/node_modules/tsx/dist/loader.mjs", "/src/app/src/server.ts",
  ];
  await docker(["network", "create", ...BENCH_LABELS, network]);
  try {
    const b: number[] = [];
    const u: number[] = [];
    await startOnce(bundled, `${BENCH_PREFIX}-cold-bundled`, network, host);
    await startOnce(unbundled, `${BENCH_PREFIX}-cold-tsx`, network, host);
    for (let i = 0; i < COLD_RUNS; i += 1) {
      b.push(await startOnce(bundled, `${BENCH_PREFIX}-cold-bundled`, network, host));
      u.push(await startOnce(unbundled, `${BENCH_PREFIX}-cold-tsx`, network, host));
      log(`  start ${i + 1}/${COLD_RUNS}: bundled ${b.at(-1)?.toFixed(0)} ms, tsx sources ${u.at(-1)?.toFixed(0)} ms`);
    }
    return [
      {
        section: "coldstart",
        name: "API container start to first /healthz 200, bundled single file",
        value: median(b),
        unit: "ms",
        baseline: { name: "same image running the unbundled sources with tsx", value: median(u) },
        note: `median of ${COLD_RUNS} fresh containers each, after one unmeasured start of each`,
      },
    ];
  } finally {
    await docker(["network", "rm", network]).catch(() => undefined);
    rmSync(secrets.dir, { recursive: true, force: true });
  }
}
