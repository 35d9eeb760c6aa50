import type { Check } from "../types";
import { fail, list, pass } from "./util";

// CIS 5.6 names these; a bind of any of them (or of a path under them) exposes the host.
const SENSITIVE_HOST_DIRS = ["/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"];
const RUNTIME_SOCKET = /(^|\/)(docker|containerd)\.sock$/;

function isSensitive(source: string): boolean {
  const path = source.replace(/\/+$/, "") || "/";
  return path === "/" || SENSITIVE_HOST_DIRS.some((d) => path === d || path.startsWith(`${d}/`));
}

/** A check that a namespace mode is not `host`. */
function notHost(id: string, title: string, what: string, mode: (h: Record<string, unknown>) => unknown): Check {
  return {
    id,
    title,
    run(s) {
      const value = mode(s.container.HostConfig as Record<string, unknown>);
      return value === "host" ? fail(`${what} mode is host`) : pass(`${what} mode ${JSON.stringify(value ?? "")}`);
    },
  };
}

/** Namespaces, devices, mounts and cgroups (CIS 5.6, 5.10, 5.16–5.18, 5.20, 5.21, 5.25, 5.30–5.32). */
export const ISOLATION_CHECKS: readonly Check[] = [
  {
    id: "5.6",
    title: "Ensure sensitive host system directories are not mounted on containers",
    run(s) {
      const binds = s.container.Mounts.filter((m) => m.Type === "bind" && isSensitive(m.Source));
      return binds.length > 0 ? fail(`binds ${binds.map((m) => m.Source).join(", ")}`) : pass("no sensitive host directory mounted");
    },
  },
  notHost("5.10", "Ensure that the host's network namespace is not shared", "network", (h) => h.NetworkMode),
  notHost("5.16", "Ensure that the host's process namespace is not shared", "PID", (h) => h.PidMode),
  notHost("5.17", "Ensure that the host's IPC namespace is not shared", "IPC", (h) => h.IpcMode),
  {
    id: "5.18",
    title: "Ensure that host devices are not directly exposed to containers",
    run(s) {
      const devices = list<{ PathOnHost?: string }>(s.container.HostConfig.Devices);
      const rules = list(s.container.HostConfig.DeviceCgroupRules);
      if (devices.length > 0) return fail(`devices ${devices.map((d) => d.PathOnHost).join(", ")}`);
      if (rules.length > 0) return fail(`device cgroup rules ${rules.join(", ")}`);
      return pass("no host device");
    },
  },
  {
    id: "5.20",
    title: "Ensure mount propagation mode is not set to shared",
    run(s) {
      const shared = s.container.Mounts.filter((m) => m.Propagation === "shared" || m.Propagation === "rshared");
      return shared.length > 0 ? fail(`shared propagation on ${shared.map((m) => m.Destination).join(", ")}`) : pass("no shared mount");
    },
  },
  notHost("5.21", "Ensure that the host's UTS namespace is not shared", "UTS", (h) => h.UTSMode),
  {
    id: "5.25",
    title: "Ensure that cgroup usage is confirmed",
    run(s) {
      const parent = s.container.HostConfig.CgroupParent ?? "";
      return parent === "" ? pass("default cgroup parent") : fail(`non-default cgroup parent ${parent}`);
    },
  },
  {
    id: "5.30",
    title: "Ensure that Docker's default bridge \"docker0\" is not used",
    run(s) {
      // What counts is the attachment, not HostConfig.NetworkMode: the docker provider creates a
      // container with networks_advanced in the default mode, then disconnects it from the bridge
      // before starting it, and a restart reconnects only the networks it is attached to.
      if ("bridge" in s.networks) return fail("attached to the default bridge");
      return pass(`networks: ${Object.keys(s.networks).join(", ") || "none"}`);
    },
  },
  notHost("5.31", "Ensure that the host's user namespaces are not shared", "user namespace", (h) => h.UsernsMode),
  {
    id: "5.32",
    title: "Ensure that the Docker socket is not mounted inside any containers",
    run(s) {
      const sockets = s.container.Mounts.filter((m) => RUNTIME_SOCKET.test(m.Source) || RUNTIME_SOCKET.test(m.Destination));
      return sockets.length > 0 ? fail(`mounts ${sockets.map((m) => m.Source).join(", ")}`) : pass("no runtime socket mounted");
    },
  },
];
