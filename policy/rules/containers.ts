import type { ResourceValidationPolicy, ReportViolation } from "@pulumi/policy";
import { disablesSeccomp, isNoNewPrivileges, isRootUser, normalizeCapability } from "../requirements";
import { isFilesWriter, profileFor, TYPES, type ContainerProps } from "./common";

type Check = (props: ContainerProps, report: ReportViolation) => void;

/** A mandatory policy over docker Containers. */
function containerPolicy(name: string, description: string, check: Check): ResourceValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
      if (args.type !== TYPES.container) return;
      check(args.props as ContainerProps, report);
    },
  };
}

const SENSITIVE_HOST_PATH = /^\/(boot|dev|etc|lib|proc|sys|usr)?(\/|$)/;
const RUNTIME_SOCKET = /(docker|containerd)\.sock$/;

/** User, capabilities, privilege escalation and kernel security profiles (CIS 4.1, 5.4, 5.5, 5.22, 5.26). */
export const containerPrivileges = containerPolicy(
  "krc-container-privileges",
  "Containers run non-root (except the proxy), drop ALL capabilities and add back only their allowlist, set no-new-privileges, are never privileged and keep seccomp/AppArmor on.",
  (props, report) => {
    const profile = profileFor(props, report);
    if (isRootUser(props.user) && !profile?.mayRunAsRoot) report(`runs as root (user ${JSON.stringify(props.user ?? "")}); set a numeric non-root uid:gid`);
    const drops = (props.capabilities?.drops ?? []).map(normalizeCapability);
    if (!drops.includes("ALL")) report("capabilities.drops must contain ALL");
    const allowed = profile?.capAdd ?? [];
    const extra = (props.capabilities?.adds ?? []).map(normalizeCapability).filter((c) => !allowed.includes(c));
    if (extra.length > 0) report(`capabilities.adds ${extra.join(", ")} not allowed (allowed: ${allowed.join(", ") || "none"})`);
    const opts = props.securityOpts ?? [];
    if (!opts.some(isNoNewPrivileges)) report("securityOpts must contain no-new-privileges:true");
    if (opts.some(disablesSeccomp)) report("securityOpts disables the default seccomp profile");
    if (opts.some((o) => /^apparmor[:=]unconfined$/.test(o))) report("securityOpts disables AppArmor");
    if (props.privileged) report("privileged must not be true");
  },
);

/** Namespaces, devices and mounts (CIS 5.6, 5.10, 5.16–5.18, 5.20, 5.21, 5.31, 5.32). */
export const containerIsolation = containerPolicy(
  "krc-container-isolation",
  "Containers share no host namespace (network, PID, IPC, UTS, user, cgroup), get no host device, and mount no host directory, runtime socket or shared propagation.",
  (props, report) => {
    const modes = { networkMode: props.networkMode, pidMode: props.pidMode, ipcMode: props.ipcMode, usernsMode: props.usernsMode, cgroupnsMode: props.cgroupnsMode };
    for (const [field, value] of Object.entries(modes)) {
      if (value === "host") report(`${field} must not be host`);
    }
    if ((props.devices ?? []).length > 0) report("devices must be empty");
    if ((props.deviceCgroupRules ?? []).length > 0) report("deviceCgroupRules must be empty");
    for (const m of props.mounts ?? []) {
      if (m.type === "bind") report(`mounts: bind of host path ${m.source ?? "?"} at ${m.target}; use a named volume`);
      const propagation = m.bindOptions?.propagation;
      if (propagation === "shared" || propagation === "rshared") report(`mounts: ${m.target} uses ${propagation} propagation`);
    }
    for (const v of props.volumes ?? []) {
      const host = v.hostPath ?? "";
      if (RUNTIME_SOCKET.test(host)) report(`volumes: mounts the runtime socket ${host}`);
      else if (SENSITIVE_HOST_PATH.test(host)) report(`volumes: mounts sensitive host path ${host}`);
      else if (host) report(`volumes: binds host path ${host}; use a named volume`);
      if (v.fromContainer) report(`volumes: inherits volumes from ${v.fromContainer}`);
    }
  },
);

/**
 * A files writer is exempt from the runtime rules only because it never runs: it must be created
 * stopped, without network, and never restarted.
 */
function checkFilesWriter(props: ContainerProps, report: ReportViolation): void {
  if (props.start !== false) report("a files writer must be created with start: false (it only receives uploads)");
  if (props.networkMode !== "none") report(`a files writer must have networkMode none (got ${JSON.stringify(props.networkMode ?? "")})`);
  if ((props.networksAdvanced ?? []).length > 0) report("a files writer must join no network");
  if ((props.restart ?? "no") !== "no") report(`a files writer must never restart (got ${props.restart})`);
}

/** Resources, filesystem, health, restart and logs (CIS 5.11–5.13, 5.15, 5.27; guide §7). */
export const containerResources = containerPolicy(
  "krc-container-resources",
  "Containers have a read-only root, a memory limit and CPU shares, a healthcheck and restart policy (services) or no restart (one-shot jobs), and rotated logs; files writers are never started and have no network.",
  (props, report) => {
    const profile = profileFor(props, report);
    if (isFilesWriter(props)) {
      checkFilesWriter(props, report);
      return;
    }
    if (props.readOnly !== true) report("readOnly must be true (writable paths go on tmpfs or volumes)");
    if (!(Number(props.memory) > 0)) report("memory must be a positive limit (MB)");
    if (!(Number(props.cpuShares) > 0)) report("cpuShares must be set");
    const tests = props.healthcheck?.tests ?? [];
    const restart = props.restart ?? "no";
    if (profile?.oneShot) {
      if (restart !== "no") report(`restart must be "no" for a one-shot job (got ${restart})`);
    } else {
      if (tests.length === 0 || tests[0] === "NONE") report("healthcheck.tests must define a probe");
      if (restart !== "unless-stopped" && !/^on-failure(:[1-5])?$/.test(restart)) report(`restart must be unless-stopped or on-failure (got ${restart})`);
    }
    const driver = props.logDriver ?? "json-file";
    const opts = (props.logOpts ?? {}) as Record<string, string>;
    if (driver === "json-file" && !opts["max-size"]) report("logOpts must set max-size (log rotation) for the json-file driver");
    else if (driver !== "json-file" && driver !== "local") report(`logDriver ${driver} is not allowed; use json-file with max-size or local`);
  },
);

/** Published ports (CIS 5.8, 5.9, 5.14; only the proxy publishes, on a specific address). */
export const containerPorts = containerPolicy(
  "krc-container-ports",
  "Only the proxy publishes ports, only 80/443, each bound to a specific host address.",
  (props, report) => {
    const profile = profileFor(props, report);
    if (props.publishAllPorts) report("publishAllPorts must not be true");
    const allowed = isFilesWriter(props) ? [] : (profile?.publishes ?? []);
    for (const p of props.ports ?? []) {
      const port = `${p.internal}/${p.protocol ?? "tcp"}`;
      if (!allowed.includes(port)) report(`ports: publishes ${port} (allowed: ${allowed.join(", ") || "none"})`);
      if (!p.ip || p.ip === "0.0.0.0" || p.ip === "::") report(`ports: ${port} must be bound to a specific address, not ${JSON.stringify(p.ip ?? "")}`);
    }
  },
);
