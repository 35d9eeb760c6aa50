/**
 * A container's memory and CPU use read from its cgroup: memory computed the way `docker stats`
 * computes it (usage minus inactive file cache), fast enough to sample every few milliseconds
 * under load; CPU as total nanoseconds used, to charge work to each container of a request's path.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

function statValue(stat: string, key: string): number {
  const match = new RegExp(`^${key} (\\d+)$`, "m").exec(stat);
  return match ? Number(match[1]) : 0;
}

/** The container's cgroup directory for a v1 controller, or the v2 unified one. */
function cgroupDir(containerId: string, controller: string): { dir: string; v2: boolean } {
  const v1 = [`/sys/fs/cgroup/${controller}/docker`, `/sys/fs/cgroup/${controller}/system.slice`]
    .flatMap((d) => [join(d, containerId), join(d, `docker-${containerId}.scope`)])
    .find(existsSync);
  if (v1) return { dir: v1, v2: false };
  const v2 = [join("/sys/fs/cgroup/docker", containerId), join("/sys/fs/cgroup/system.slice", `docker-${containerId}.scope`)].find(existsSync);
  if (v2) return { dir: v2, v2: true };
  throw new Error(`no ${controller} cgroup found for container ${containerId}`);
}

/** Returns a reader of the container's current memory use in bytes (cgroup v1 or v2, cgroupfs or systemd driver). */
export function memoryReader(containerId: string): () => number {
  const { dir, v2 } = cgroupDir(containerId, "memory");
  return v2
    ? () => Number(readFileSync(join(dir, "memory.current"), "utf8")) - statValue(readFileSync(join(dir, "memory.stat"), "utf8"), "inactive_file")
    : () => Number(readFileSync(join(dir, "memory.usage_in_bytes"), "utf8")) - statValue(readFileSync(join(dir, "memory.stat"), "utf8"), "total_inactive_file");
}

/** Returns a reader of the CPU time the container has used so far, in nanoseconds. */
export function cpuReader(containerId: string): () => number {
  const { dir, v2 } = cgroupDir(containerId, "cpuacct");
  return v2 ? () => statValue(readFileSync(join(dir, "cpu.stat"), "utf8"), "usage_usec") * 1000 : () => Number(readFileSync(join(dir, "cpuacct.usage"), "utf8"));
}

/** Samples a reader every `everyMs` until stopped; `stop` returns the highest value seen. */
export function samplePeak(read: () => number, everyMs = 20): { stop(): number } {
  let peak = read();
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, read());
    } catch {
      // The container may be gone between samples; the peak so far stands.
    }
  }, everyMs);
  return {
    stop(): number {
      clearInterval(timer);
      return peak;
    },
  };
}
