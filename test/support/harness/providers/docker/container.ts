/**
 * docker.Container on the local engine, following the docker provider (terraform-provider-docker
 * v3, bridged by @pulumi/docker): the same Engine API calls in the same order (create, network
 * connects, uploads into the created container, start, attach, wait for healthy, check it runs),
 * the same defaults (start, mustRun, restart "no", logDriver json-file, removeVolumes, waitTimeout
 * 60) and units (memory, memorySwap and shmSize in MB), and the same ForceNew/updatable split.
 */
import type Dockerode from "dockerode";
import type { Materializer, MaterializeContext, Props } from "../../types";
import { autoName, checkFields, docker, isNotFound, labelMap } from "./engine";
import { parseGoDuration } from "./duration";
import { demuxLogs } from "./logs";
import { tarFile, resolveId } from "./tar";

const TYPE = "docker:index/container:Container";

const INPUTS = [
  "image", "name", "hostname", "domainname", "user", "workingDir", "command", "entrypoints", "envs", "labels",
  "ports", "publishAllPorts", "hosts", "dns", "dnsOpts", "dnsSearches", "networkMode", "networksAdvanced",
  "volumes", "mounts", "tmpfs", "uploads", "healthcheck", "restart", "maxRetryCount", "memory", "memorySwap",
  "shmSize", "cpuShares", "cpuSet", "readOnly", "privileged", "capabilities", "securityOpts", "logDriver",
  "logOpts", "init", "tty", "stdinOpen", "stopSignal", "stopTimeout", "sysctls", "groupAdds", "ipcMode", "pidMode",
  "usernsMode", "ulimits", "start", "attach", "logs", "mustRun", "wait", "waitTimeout", "rm", "removeVolumes",
  "destroyGraceSeconds", "containerReadRefreshTimeoutMilliseconds",
] as const;

/** Fields the provider changes in place (ContainerUpdate) or that only steer the provider itself. */
const UPDATABLE = [
  "restart", "maxRetryCount", "cpuShares", "memory", "cpuSet", "memorySwap",
  "mustRun", "destroyGraceSeconds", "removeVolumes", "wait", "waitTimeout", "containerReadRefreshTimeoutMilliseconds",
];

interface Upload { file: string; content?: string; contentBase64?: string; source?: string; executable?: boolean; permissions?: string; owner?: string; group?: string }
interface Port { internal: number; external?: number; ip?: string; protocol?: string }
interface Mount {
  type: string; target: string; source?: string; readOnly?: boolean;
  bindOptions?: { propagation?: string };
  volumeOptions?: { noCopy?: boolean; labels?: { label: string; value: string }[]; driverName?: string; driverOptions?: Record<string, string> };
  tmpfsOptions?: { sizeBytes?: number; mode?: number };
}
interface Volume { containerPath?: string; hostPath?: string; volumeName?: string; readOnly?: boolean; fromContainer?: string }
interface NetworkAdv { name: string; aliases?: string[]; ipv4Address?: string; ipv6Address?: string }
interface Health { tests?: string[]; interval?: string; timeout?: string; startPeriod?: string; startInterval?: string; retries?: number }

function bool(inputs: Props, key: string, dflt: boolean): boolean {
  const v = inputs[key];
  return v === undefined ? dflt : v === true;
}

function num(inputs: Props, key: string): number | undefined {
  const v = inputs[key];
  return typeof v === "number" ? v : undefined;
}

function list<T>(inputs: Props, key: string): T[] {
  return (inputs[key] ?? []) as T[];
}

function duration(field: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ns = parseGoDuration(v);
  if (ns === undefined) throw new Error(`harness: ${TYPE} input "healthcheck.${field}" is not a duration: "${v}" (Go format, for example "10s" or "1m30s")`);
  return ns;
}

/** The Engine API create body for `inputs` (pure, exported for tests). */
export function createBody(name: string, inputs: Props): Dockerode.ContainerCreateOptions {
  const command = inputs["command"] as string[] | undefined;
  if (command?.some((c) => c === "")) throw new Error(`harness: ${TYPE}: values for command may not be empty`);
  const ports = list<Port>(inputs, "ports");
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) {
    const key = `${p.internal}/${p.protocol ?? "tcp"}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.ip ?? "0.0.0.0", HostPort: p.external === undefined ? "" : String(p.external) });
  }
  const binds: string[] = [];
  const volumesFrom: string[] = [];
  const anonymous: Record<string, object> = {};
  for (const v of list<Volume>(inputs, "volumes")) {
    if (v.fromContainer) volumesFrom.push(v.fromContainer);
    else if (v.hostPath || v.volumeName) binds.push(`${v.hostPath ?? v.volumeName}:${v.containerPath ?? ""}${v.readOnly ? ":ro" : ""}`);
    else if (v.containerPath) anonymous[v.containerPath] = {};
  }
  const mounts = list<Mount>(inputs, "mounts").map((m) => ({
    Type: m.type as "bind" | "volume" | "tmpfs",
    Target: m.target,
    Source: m.source ?? "",
    ReadOnly: m.readOnly ?? false,
    ...(m.type === "bind" && m.bindOptions ? { BindOptions: { Propagation: m.bindOptions.propagation } } : {}),
    ...(m.type === "volume" && m.volumeOptions
      ? {
          VolumeOptions: {
            NoCopy: m.volumeOptions.noCopy ?? false,
            Labels: labelMap(m.volumeOptions.labels),
            ...(m.volumeOptions.driverName || m.volumeOptions.driverOptions ? { DriverConfig: { Name: m.volumeOptions.driverName ?? "", Options: m.volumeOptions.driverOptions ?? {} } } : {}),
          },
        }
      : {}),
    ...(m.type === "tmpfs" && m.tmpfsOptions ? { TmpfsOptions: { SizeBytes: m.tmpfsOptions.sizeBytes, Mode: m.tmpfsOptions.mode } } : {}),
  })) as Dockerode.MountSettings[];
  const hc = inputs["healthcheck"] as Health | undefined;
  const caps = inputs["capabilities"] as { adds?: string[]; drops?: string[] } | undefined;
  const memory = num(inputs, "memory");
  const swap = num(inputs, "memorySwap");
  const shm = num(inputs, "shmSize");
  const ulimits = list<{ name: string; soft: number; hard: number }>(inputs, "ulimits");
  const mb = 1024 * 1024;
  return {
    name,
    Image: inputs["image"] as string,
    Hostname: (inputs["hostname"] as string | undefined) ?? "",
    Domainname: (inputs["domainname"] as string | undefined) ?? "",
    Tty: bool(inputs, "tty", false),
    OpenStdin: bool(inputs, "stdinOpen", false),
    Env: inputs["envs"] as string[] | undefined,
    Cmd: command && command.length > 0 ? command : undefined,
    Entrypoint: inputs["entrypoints"] as string[] | undefined,
    User: inputs["user"] as string | undefined,
    WorkingDir: inputs["workingDir"] as string | undefined,
    ExposedPorts: ports.length > 0 ? exposed : undefined,
    Volumes: Object.keys(anonymous).length > 0 ? anonymous : undefined,
    Labels: labelMap(inputs["labels"]),
    StopSignal: inputs["stopSignal"] as string | undefined,
    StopTimeout: num(inputs, "stopTimeout"),
    Healthcheck: hc
      ? {
          Test: hc.tests,
          Interval: duration("interval", hc.interval),
          Timeout: duration("timeout", hc.timeout),
          StartPeriod: duration("startPeriod", hc.startPeriod),
          // dockerode's typings predate StartInterval; the Engine API (1.44+) reads it, older engines ignore it.
          ...(hc.startInterval ? { StartInterval: duration("startInterval", hc.startInterval) } : {}),
          Retries: hc.retries,
        }
      : undefined,
    HostConfig: {
      Privileged: bool(inputs, "privileged", false),
      PublishAllPorts: bool(inputs, "publishAllPorts", false),
      RestartPolicy: { Name: (inputs["restart"] as string | undefined) ?? "no", MaximumRetryCount: num(inputs, "maxRetryCount") ?? 0 },
      Mounts: mounts,
      AutoRemove: bool(inputs, "rm", false),
      ReadonlyRootfs: bool(inputs, "readOnly", false),
      LogConfig: { Type: (inputs["logDriver"] as string | undefined) ?? "json-file", Config: (inputs["logOpts"] ?? {}) as Record<string, string> },
      Tmpfs: inputs["tmpfs"] as Record<string, string> | undefined,
      PortBindings: ports.length > 0 ? bindings : undefined,
      ExtraHosts: list<{ host: string; ip: string }>(inputs, "hosts").map((h) => `${h.host}:${h.ip}`),
      Binds: binds.length > 0 ? binds : undefined,
      VolumesFrom: volumesFrom.length > 0 ? volumesFrom : undefined,
      Ulimits: ulimits.length > 0 ? ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })) : undefined,
      CapAdd: caps?.adds,
      CapDrop: caps?.drops,
      Dns: inputs["dns"] as string[] | undefined,
      DnsOptions: inputs["dnsOpts"] as string[] | undefined,
      DnsSearch: inputs["dnsSearches"] as string[] | undefined,
      SecurityOpt: inputs["securityOpts"] as string[] | undefined,
      Memory: memory !== undefined ? memory * mb : undefined,
      MemorySwap: swap !== undefined ? (swap > 0 ? swap * mb : swap) : undefined,
      ShmSize: shm !== undefined ? shm * mb : undefined,
      CpuShares: num(inputs, "cpuShares"),
      CpusetCpus: inputs["cpuSet"] as string | undefined,
      NetworkMode: inputs["networkMode"] as string | undefined,
      UsernsMode: inputs["usernsMode"] as string | undefined,
      PidMode: inputs["pidMode"] as string | undefined,
      IpcMode: inputs["ipcMode"] as string | undefined,
      Sysctls: inputs["sysctls"] as Record<string, string> | undefined,
      GroupAdd: inputs["groupAdds"] as string[] | undefined,
      Init: bool(inputs, "init", false),
    },
  };
}

async function tail(c: Dockerode.Container, redact: (s: string) => string): Promise<string> {
  try {
    const raw = (await c.logs({ stdout: true, stderr: true, tail: 30 })) as unknown as Buffer;
    return redact(demuxLogs(raw)).trimEnd();
  } catch {
    return "(no logs)";
  }
}

async function waitHealthy(c: Dockerode.Container, seconds: number): Promise<Dockerode.ContainerInspectInfo> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const info = await c.inspect();
    if (info.State.Health === undefined) throw new Error("wait is true but the container has no healthcheck");
    if (info.State.Health.Status === "healthy") return info;
    if (!info.State.Running) throw new Error(`container exited with code ${info.State.ExitCode} before it became healthy`);
    if (Date.now() > deadline) {
      const last = info.State.Health.Log?.slice(-1)[0];
      throw new Error(`container did not become healthy within ${seconds}s (status ${info.State.Health.Status}${last ? `, last check exit ${last.ExitCode}: ${last.Output.trim().slice(0, 300)}` : ""})`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function outputsFrom(inputs: Props, name: string, info: Dockerode.ContainerInspectInfo, logs: string | undefined): Props {
  const networks = info.NetworkSettings.Networks ?? {};
  const out: Props = {
    ...inputs,
    name,
    restart: info.HostConfig.RestartPolicy?.Name ?? "no",
    logDriver: info.HostConfig.LogConfig?.Type ?? "json-file",
    bridge: (info.NetworkSettings as { Bridge?: string }).Bridge ?? "",
    networkDatas: Object.entries(networks).map(([networkName, n]) => ({
      networkName,
      ipAddress: n.IPAddress,
      ipPrefixLength: n.IPPrefixLen,
      gateway: n.Gateway,
      macAddress: n.MacAddress,
      globalIpv6Address: n.GlobalIPv6Address,
      globalIpv6PrefixLength: n.GlobalIPv6PrefixLen,
      ipv6Gateway: n.IPv6Gateway,
    })),
  };
  if (!info.State.Running) out["exitCode"] = info.State.ExitCode;
  if (logs !== undefined) out["containerLogs"] = logs;
  return out;
}

/** The provider's delete: stop (with destroyGraceSeconds, or kill at once) unless attached, then force-remove. */
async function remove(id: string, inputs: Props, force: boolean): Promise<void> {
  const c = docker.getContainer(id);
  const ignorable = (e: unknown): boolean => {
    const code = (e as { statusCode?: number }).statusCode;
    // 404: already gone; 304: already stopped; 409: removal already in progress.
    return isNotFound(e) || code === 304 || code === 409;
  };
  if (!force && !bool(inputs, "attach", false)) {
    await c.stop({ t: num(inputs, "destroyGraceSeconds") ?? 0 }).catch((e: unknown) => {
      if (!ignorable(e)) throw e;
    });
  }
  await c.remove({ v: bool(inputs, "removeVolumes", true), force: true }).catch((e: unknown) => {
    if (!ignorable(e)) throw e;
  });
}

async function create(ctx: MaterializeContext, inputs: Props, redact: (s: string) => string): Promise<{ id: string; outputs: Props }> {
  const name = (inputs["name"] as string | undefined) ?? autoName(ctx.name);
  const image = inputs["image"] as string;
  try {
    await docker.getImage(image).inspect();
  } catch (e) {
    if (isNotFound(e)) throw new Error(`harness: ${TYPE} ${name}: image "${image}" is not on the local engine and no registry is reachable to pull it`);
    throw e;
  }
  const c = await docker.createContainer(createBody(name, inputs));
  const fail = async (why: string): Promise<never> => {
    const logs = await tail(c, redact);
    await remove(c.id, inputs, true);
    throw new Error(`harness: ${TYPE} ${name}: ${why}\n--- last container logs ---\n${logs}`);
  };
  try {
    const advanced = list<NetworkAdv>(inputs, "networksAdvanced");
    if (advanced.length > 0) {
      await docker.getNetwork("bridge").disconnect({ Container: c.id, Force: false }).catch((e: unknown) => {
        if (!String((e as Error).message).includes("is not connected")) throw e;
      });
      for (const n of advanced) {
        await docker.getNetwork(n.name).connect({
          Container: c.id,
          EndpointConfig: { Aliases: n.aliases, IPAMConfig: { IPv4Address: n.ipv4Address, IPv6Address: n.ipv6Address } },
        });
      }
    }
    for (const u of list<Upload>(inputs, "uploads")) {
      const set = [u.content, u.contentBase64, u.source].filter((x) => x !== undefined && x !== "").length;
      if (set !== 1) throw new Error(`harness: ${TYPE} ${name}: upload ${u.file}: exactly one of content, contentBase64 or source must be set`);
      const body = u.content !== undefined && u.content !== "" ? Buffer.from(u.content, "utf8") : u.contentBase64 ? Buffer.from(u.contentBase64, "base64") : await import("node:fs").then((fs) => fs.readFileSync(u.source as string));
      // Permissions take precedence over executable, as in the provider.
      const mode = u.permissions !== undefined ? parseInt(u.permissions, 8) : u.executable ? 0o744 : 0o644;
      const archive = tarFile(u.file, body, mode, resolveId("user", u.owner), resolveId("group", u.group));
      try {
        // Into "/" as the provider does: the engine checks that directory, not the file's, against a read-only root.
        await c.putArchive(archive, { path: "/" });
      } catch (e) {
        const msg = (e as Error).message;
        const hint = msg.includes("read-only")
          ? " (the docker provider copies uploads into \"/\", which the engine refuses for a container with readOnly: true even when the file's directory is a volume; see test/support/harness/README.md)"
          : "";
        throw new Error(`harness: ${TYPE} ${name}: unable to upload volume content ${u.file}: ${msg.trim()}${hint}`);
      }
    }
  } catch (e) {
    await remove(c.id, inputs, true);
    throw e;
  }
  if (bool(inputs, "start", true)) {
    try {
      await c.start();
    } catch (e) {
      await fail(`unable to start container: ${(e as Error).message}`);
    }
    // As the provider: the health wait comes right after start, before attaching.
    if (bool(inputs, "wait", false)) {
      try {
        await waitHealthy(c, num(inputs, "waitTimeout") ?? 60);
      } catch (e) {
        await fail((e as Error).message);
      }
    }
  }
  let logs: string | undefined;
  if (bool(inputs, "attach", false)) {
    await c.wait({ condition: "not-running" });
    if (bool(inputs, "logs", false)) logs = demuxLogs((await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer);
  }
  const info = await c.inspect();
  if (!info.State.Running && bool(inputs, "mustRun", true)) {
    await fail(`container is not running (exit code ${info.State.ExitCode}) and mustRun is true (the provider's default; a one-shot container needs mustRun: false)`);
  }
  const state = info.State.Running ? "running" : bool(inputs, "start", true) ? `exited ${info.State.ExitCode}` : "created";
  ctx.log(`container ${name} (${c.id.slice(0, 12)}) ${state}`);
  return { id: c.id, outputs: outputsFrom(inputs, name, info, logs) };
}

const NESTED: Record<string, readonly string[]> = {
  uploads: ["file", "content", "contentBase64", "source", "executable", "permissions", "owner", "group"],
  ports: ["internal", "external", "ip", "protocol"],
  mounts: ["type", "target", "source", "readOnly", "bindOptions", "volumeOptions", "tmpfsOptions"],
  volumes: ["containerPath", "hostPath", "volumeName", "readOnly", "fromContainer"],
  networksAdvanced: ["name", "aliases", "ipv4Address", "ipv6Address"],
  healthcheck: ["tests", "interval", "timeout", "startPeriod", "startInterval", "retries"],
  capabilities: ["adds", "drops"],
  labels: ["label", "value"],
  hosts: ["host", "ip"],
  ulimits: ["name", "soft", "hard"],
};

/** Builds the container materializer; `redact` scrubs secrets from container logs quoted in errors. */
export function containerMaterializer(redact: (s: string) => string): Materializer {
  return {
    type: TYPE,
    inputs: new Set(INPUTS),
    updatable: new Set(UPDATABLE),
    validate(inputs) {
      if (typeof inputs["image"] !== "string") throw new Error(`harness: ${TYPE}: image is required`);
      for (const [field, allowed] of Object.entries(NESTED)) checkFields(TYPE, field, inputs[field], allowed);
      for (const m of list<Mount>(inputs, "mounts")) {
        checkFields(TYPE, "mounts.bindOptions", m.bindOptions, ["propagation"]);
        checkFields(TYPE, "mounts.volumeOptions", m.volumeOptions, ["noCopy", "labels", "driverName", "driverOptions"]);
        checkFields(TYPE, "mounts.tmpfsOptions", m.tmpfsOptions, ["sizeBytes", "mode"]);
      }
      createBody("validate", inputs);
    },
    create: (ctx, inputs) => create(ctx, inputs, redact),
    async update(_ctx, id, _olds, news, oldOutputs) {
      const mb = 1024 * 1024;
      const swap = num(news, "memorySwap");
      await docker.getContainer(id).update({
        RestartPolicy: { Name: (news["restart"] as string | undefined) ?? "no", MaximumRetryCount: num(news, "maxRetryCount") ?? 0 },
        CpuShares: num(news, "cpuShares") ?? 0,
        Memory: (num(news, "memory") ?? 0) * mb,
        CpusetCpus: (news["cpuSet"] as string | undefined) ?? "",
        ...(swap !== undefined ? { MemorySwap: swap > 0 ? swap * mb : swap } : {}),
      });
      const info = await docker.getContainer(id).inspect();
      return outputsFrom(news, oldOutputs["name"] as string, info, oldOutputs["containerLogs"] as string | undefined);
    },
    async delete(_ctx, id, inputs) {
      await remove(id, inputs, false);
    },
  };
}
