/**
 * The one list of hardening measures krc deliberately does not apply, with the reason and what
 * compensates. The audit prints these and turns a failing check into EXCEPTION only when the
 * check names one of these entries for the exact condition it covers; anything else stays FAIL.
 * docs/hardening.md mirrors this list for readers.
 */
export interface HardeningException {
  /** Stable key that checks refer to. */
  readonly id: ExceptionId;
  /** CIS Docker Benchmark v1.6.0 recommendation ids (or krc check ids) the exception covers. */
  readonly checks: readonly string[];
  /** Services (`krc.service` label values) it applies to. */
  readonly services: readonly string[];
  /** The measure that is not applied, as the benchmark or guide states it. */
  readonly measure: string;
  readonly reason: string;
  readonly compensation: string;
}

/** Keys of {@link EXCEPTIONS}. */
export type ExceptionId =
  | "restart-unless-stopped"
  | "one-shot-migrate"
  | "proxy-runs-as-root"
  | "proxy-net-bind-service"
  | "proxy-privileged-ports"
  | "pids-limit-unavailable"
  | "image-without-healthcheck"
  | "no-apparmor-on-host"
  | "no-selinux-on-host"
  | "files-writer-writable-root"
  | "files-writer-never-started";

/** Every accepted deviation from the hardening baseline. */
export const EXCEPTIONS: Readonly<Record<ExceptionId, HardeningException>> = Object.freeze({
  "restart-unless-stopped": {
    id: "restart-unless-stopped",
    checks: ["5.15"],
    services: ["db", "api", "proxy"],
    measure: "restart policy on-failure with at most 5 retries",
    reason:
      "the guide keeps `restart: unless-stopped` so the CRM comes back after a host reboot or a " +
      "daemon restart; on-failure:5 leaves it down after a reboot or the sixth crash",
    compensation:
      "every long-running container has a healthcheck, so a crash loop shows as unhealthy in the " +
      "audit and in monitoring instead of restarting silently forever",
  },
  "one-shot-migrate": {
    id: "one-shot-migrate",
    checks: ["4.6", "5.15", "5.27"],
    services: ["migrate"],
    measure: "healthcheck and on-failure restart policy",
    reason:
      "the migrate container runs once and must exit 0 before the API starts; a healthcheck has " +
      "nothing to probe and a restart would re-run migrations behind the deployment's back",
    compensation: "the deployment waits for its exit code (`attach: true`) and fails on non-zero",
  },
  "proxy-runs-as-root": {
    id: "proxy-runs-as-root",
    checks: ["4.1"],
    services: ["proxy"],
    measure: "a non-root user inside the container",
    reason:
      "the official caddy image runs as root and /usr/bin/caddy carries the file capability " +
      "cap_net_bind_service=+ep; with no-new-privileges a non-root user cannot execute it",
    compensation:
      "uid 0 keeps no capability but NET_BIND_SERVICE (all others dropped), no-new-privileges, " +
      "read-only root filesystem, no secrets mounted, only the external network",
  },
  "proxy-net-bind-service": {
    id: "proxy-net-bind-service",
    checks: ["5.4"],
    services: ["proxy"],
    measure: "no capability added back after dropping ALL",
    reason: "Caddy binds ports 80 and 443 inside the container, which needs NET_BIND_SERVICE",
    compensation: "it is the only capability added, and only to the proxy",
  },
  "proxy-privileged-ports": {
    id: "proxy-privileged-ports",
    checks: ["5.8"],
    services: ["proxy"],
    measure: "no host port below 1024",
    reason: "public HTTP and HTTPS must be on 80 and 443 (ACME challenges and browsers expect them)",
    compensation: "bound to the configured address only (5.14), and only the proxy publishes ports (5.9)",
  },
  "pids-limit-unavailable": {
    id: "pids-limit-unavailable",
    checks: ["5.29"],
    services: ["db", "migrate", "api", "proxy"],
    measure: "a PIDs cgroup limit (--pids-limit)",
    reason: "the docker provider's Container resource (v5) has no field for PidsLimit",
    compensation:
      "the memory limit (5.11) bounds what a fork bomb can consume; no service runs a shell or " +
      "spawns processes from input",
  },
  "image-without-healthcheck": {
    id: "image-without-healthcheck",
    checks: ["4.6"],
    services: ["db", "api", "proxy"],
    measure: "a HEALTHCHECK instruction in the image",
    reason:
      "the official postgres and caddy images declare no HEALTHCHECK, nor does the node base the " +
      "api image is built on; the health command depends on how the stack runs the service",
    compensation: "the program sets the healthcheck on the container itself, checked at runtime (5.27)",
  },
  "no-apparmor-on-host": {
    id: "no-apparmor-on-host",
    checks: ["5.2"],
    services: ["db", "migrate", "api", "proxy"],
    measure: "an AppArmor profile on each container",
    reason:
      "the Docker engine reports no AppArmor support (the host kernel has it disabled), so no " +
      "profile can be applied; on a host with AppArmor, Docker applies docker-default and this passes",
    compensation: "default seccomp profile (5.22), all capabilities dropped (5.4), no-new-privileges (5.26)",
  },
  "no-selinux-on-host": {
    id: "no-selinux-on-host",
    checks: ["5.3"],
    services: ["db", "migrate", "api", "proxy"],
    measure: "SELinux security options",
    reason: "the Docker engine runs without SELinux support (Debian hosts use AppArmor instead)",
    compensation: "AppArmor where the host has it (5.2), seccomp (5.22), capabilities dropped (5.4)",
  },
  "files-writer-writable-root": {
    id: "files-writer-writable-root",
    checks: ["5.13"],
    services: ["db", "migrate", "api", "proxy"],
    measure: "a read-only root filesystem on the container that receives a service's files",
    reason:
      "the docker provider copies uploads into / of a container, which the engine refuses for a " +
      "read-only root even when the target is a volume; the files writer (krc.role=files-writer) " +
      "takes the uploads onto the volume instead of the service",
    compensation:
      "the writer is never started (no process ever runs in it), has no network and no capability, " +
      "runs as the service's user, and the service mounts the volume read-only",
  },
  "files-writer-never-started": {
    id: "files-writer-never-started",
    checks: ["4.6", "5.11", "5.12", "5.15", "5.27", "KRC-LOG"],
    services: ["db", "migrate", "api", "proxy"],
    measure: "runtime limits, healthcheck, restart policy and log rotation on the files writer",
    reason: "the files writer is created and never started: it has no runtime to limit, probe, restart or log",
    compensation:
      "the exception holds only while the engine reports it never started; the service that mounts " +
      "the files carries all of these",
  },
});
