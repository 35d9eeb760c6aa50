import { profileOf } from "../../../policy/requirements";
import type { Check } from "../types";
import { excepted, fail, list, pass } from "./util";

// json-file rotates only with max-size; `local` rotates by default (20 MB x 5).
function rotationOf(type: string, config: Record<string, string>): string | undefined {
  if (type === "local") return `local driver (max-size ${config["max-size"] ?? "20m default"})`;
  if (type === "json-file" && config["max-size"]) return `json-file max-size=${config["max-size"]} max-file=${config["max-file"] ?? "1"}`;
  return undefined;
}

/** Resources, filesystem, restart, health and image freshness (CIS 5.11–5.13, 5.15, 5.19, 5.27–5.29). */
export const LIFECYCLE_CHECKS: readonly Check[] = [
  {
    id: "5.11",
    title: "Ensure that the memory usage for containers is limited",
    run(s) {
      const memory = s.container.HostConfig.Memory ?? 0;
      return memory > 0 ? pass(`${Math.round(memory / 2 ** 20)} MiB`) : fail("no memory limit");
    },
  },
  {
    id: "5.12",
    title: "Ensure that CPU priority is set appropriately on containers",
    run(s) {
      const shares = s.container.HostConfig.CpuShares ?? 0;
      return shares > 0 ? pass(`cpu shares ${shares}`) : fail("cpu shares not set");
    },
  },
  {
    id: "5.13",
    title: "Ensure that the container's root filesystem is mounted as read only",
    run: (s) => (s.container.HostConfig.ReadonlyRootfs ? pass("read-only root filesystem") : fail("root filesystem is writable")),
  },
  {
    id: "5.15",
    title: "Ensure that the 'on-failure' container restart policy is set to '5'",
    run(s) {
      const policy = s.container.HostConfig.RestartPolicy ?? { Name: "" };
      const name = policy.Name || "no";
      const detail = `restart ${name}${name === "on-failure" ? `:${policy.MaximumRetryCount ?? 0}` : ""}`;
      if (name === "on-failure" && (policy.MaximumRetryCount ?? 0) > 0 && (policy.MaximumRetryCount ?? 0) <= 5) return pass(detail);
      if (profileOf(s.service)?.oneShot && name === "no") return excepted("one-shot-migrate", s, detail);
      if (name === "unless-stopped") return excepted("restart-unless-stopped", s, detail);
      return fail(detail);
    },
  },
  {
    id: "5.19",
    title: "Ensure that the default ulimit is overwritten at runtime if needed",
    run(s) {
      const ulimits = list(s.container.HostConfig.Ulimits);
      // No krc service needs more than the daemon's defaults; an override would widen them.
      return ulimits.length === 0 ? pass("daemon default ulimits") : fail(`overrides ${ulimits.map((u) => u.Name).join(", ")}`);
    },
  },
  {
    id: "5.27",
    title: "Ensure that container health is checked at runtime",
    run(s) {
      const test = list(s.container.Config.Healthcheck?.Test);
      const configured = test.length > 0 && test[0] !== "NONE";
      if (!configured) {
        return profileOf(s.service)?.oneShot ? excepted("one-shot-migrate", s, "no healthcheck") : fail("no healthcheck");
      }
      if (!s.container.State.Running) return profileOf(s.service)?.oneShot ? pass("healthcheck set; exited") : fail(`not running (${s.container.State.Status})`);
      const health = s.container.State.Health?.Status ?? "none";
      return health === "healthy" || health === "starting" ? pass(`health ${health}`) : fail(`health ${health}`);
    },
  },
  {
    id: "5.28",
    title: "Ensure that Docker commands always make use of the latest version of their image",
    run(s) {
      const ref = s.container.Config.Image;
      if (s.currentImageId === undefined) return fail(`image reference ${ref} no longer resolves`);
      return s.currentImageId === s.container.Image
        ? pass(`runs the image ${ref} resolves to`)
        : fail(`runs ${s.container.Image.slice(0, 19)} but ${ref} now resolves to ${s.currentImageId.slice(0, 19)}`);
    },
  },
  {
    id: "5.29",
    title: "Ensure that the PIDs cgroup limit is used",
    run(s) {
      const limit = s.container.HostConfig.PidsLimit ?? 0;
      return limit > 0 ? pass(`pids limit ${limit}`) : excepted("pids-limit-unavailable", s, "no pids limit");
    },
  },
  {
    id: "KRC-LOG",
    title: "Container logs are rotated",
    run(s) {
      const log = s.container.HostConfig.LogConfig ?? { Type: "", Config: {} };
      const rotation = rotationOf(log.Type, (log.Config ?? {}) as Record<string, string>);
      return rotation ? pass(rotation) : fail(`log driver ${log.Type || "?"} without rotation`);
    },
  },
];
