/**
 * A container's memory use read from its cgroup, computed the way `docker stats` computes it
 * (usage minus inactive file cache), fast enough to sample every few milliseconds under load.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

function statValue(stat: string, key: string): number {
  const match = new RegExp(`^${key} (\\d+)$`, "m").exec(stat);
  return match ? Number(match[1]) : 0;
}

/** Returns a reader of the container's current memory use in bytes (cgroup v1 or v2, cgroupfs or systemd driver). */
export function memoryReader(containerId: string): () => number {
  const v1 = ["/sys/fs/cgroup/memory/docker", "/sys/fs/cgroup/memory/system.slice"].map((d) => [join(d, containerId), join(d, `docker-${containerId}.scope`)]).flat().find(existsSync);
  if (v1) {
    return () => Number(readFileSync(join(v1, "memory.usage_in_bytes"), "utf8")) - statValue(readFileSync(join(v1, "memory.stat"), "utf8"), "total_inactive_file");
  }
  const v2 = [join("/sys/fs/cgroup/docker", containerId), join("/sys/fs/cgroup/system.slice", `docker-${containerId}.scope`)].find(existsSync);
  if (v2) {
    return () => Number(readFileSync(join(v2, "memory.current"), "utf8")) - statValue(readFileSync(join(v2, "memory.stat"), "utf8"), "inactive_file");
  }
  throw new Error(`no memory cgroup found for container ${containerId}`);
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
