import type { ContainerInspectInfo, ImageInspectInfo, NetworkInspectInfo } from "dockerode";
import type { AuditInput, AuditSubject } from "../../tools/audit/types";

/**
 * Inspect JSON shaped like what Docker Engine 20.10 returned for the audit's live test
 * containers (trimmed to the fields the checks read), with overrides per test.
 */
const IMAGE_ID = `sha256:${"a".repeat(64)}`;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> | T[K] : T[K] };

/** A network inspect. */
export function network(name: string, internal: boolean, stack = "audit-fixture"): NetworkInspectInfo {
  return {
    Name: name,
    Id: `${name}-id`,
    Created: "2026-12-03T13:29:56Z",
    Scope: "local",
    Driver: "bridge",
    EnableIPv6: false,
    Internal: internal,
    Attachable: false,
    Ingress: false,
    IPAM: { Driver: "default", Config: [] },
    Containers: {},
    Options: {},
    Labels: { "krc.project": "krc", "krc.stack": stack },
  } as unknown as NetworkInspectInfo;
}

export const INTERNAL = network("krc-audit-fixture-internal", true);
/** Docker's built-in `none` network, as inspect reports it. */
export const NONE = { ...network("none", false), Driver: "null", Labels: {} } as NetworkInspectInfo;
export const EXTERNAL = network("krc-audit-fixture-external", false);

/** Inspect JSON of a container that passes every check (the api service). */
export function hardenedContainer(service = "api", user = "1000:1000"): ContainerInspectInfo {
  return {
    Id: `${service}-id`,
    Name: `/krc-audit-fixture-${service}`,
    Image: IMAGE_ID,
    AppArmorProfile: "docker-default",
    State: { Status: "running", Running: true, Health: { Status: "healthy", FailingStreak: 0, Log: [] } },
    Mounts: [{ Type: "volume", Name: "secrets", Source: "/var/lib/docker/volumes/secrets/_data", Destination: "/run/secrets", Mode: "z", RW: true, Propagation: "" }],
    Config: {
      User: user,
      Env: ["PORT=8080", "DATABASE_PASSWORD_FILE=/run/secrets/db_app_password", "PATH=/usr/local/bin:/usr/bin:/bin"],
      Image: "krc-api:0123abcd",
      Labels: { "krc.project": "krc", "krc.stack": "audit-fixture", "krc.service": service },
      Healthcheck: { Test: ["CMD", "node", "/app/healthcheck.js"] },
    },
    HostConfig: {
      NetworkMode: "krc-audit-fixture-external",
      PortBindings: {},
      RestartPolicy: { Name: "on-failure", MaximumRetryCount: 5 },
      CapAdd: null,
      CapDrop: ["ALL"],
      IpcMode: "private",
      CgroupParent: "",
      PidMode: "",
      Privileged: false,
      PublishAllPorts: false,
      ReadonlyRootfs: true,
      SecurityOpt: ["no-new-privileges:true"],
      UTSMode: "",
      UsernsMode: "",
      CpuShares: 512,
      Memory: 256 * 2 ** 20,
      PidsLimit: 128,
      Ulimits: null,
      Devices: null,
      DeviceCgroupRules: null,
      LogConfig: { Type: "json-file", Config: { "max-file": "3", "max-size": "10m" } },
    },
  } as unknown as ContainerInspectInfo;
}

/** Image inspect with a HEALTHCHECK and harmless ENV. */
export function image(): ImageInspectInfo {
  return {
    Id: IMAGE_ID,
    Config: { Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_VERSION=20.19.0"], Healthcheck: { Test: ["CMD", "true"] } },
  } as unknown as ImageInspectInfo;
}

/** A subject for one container; `edit` mutates the fresh inspect JSON before it is used. */
export function subject(options: {
  service?: string;
  user?: string;
  networks?: NetworkInspectInfo[];
  edit?: (c: ContainerInspectInfo, i: ImageInspectInfo) => void;
  processes?: AuditSubject["processes"];
  currentImageId?: string;
} = {}): AuditSubject {
  const service = options.service ?? "api";
  const container = hardenedContainer(service, options.user);
  const img = image();
  options.edit?.(container, img);
  const nets = options.networks ?? [INTERNAL, EXTERNAL];
  return {
    name: container.Name.slice(1),
    service: container.Config.Labels?.["krc.service"],
    container,
    image: img,
    currentImageId: "currentImageId" in options ? options.currentImageId : container.Image,
    networks: Object.fromEntries(nets.map((n) => [n.Name, n])),
    processes: options.processes === undefined ? ["node /app/server.js"] : options.processes,
  };
}

/** An audit input around some subjects (engine with AppArmor, dev stack by default). */
export function input(subjects: AuditSubject[], overrides: DeepPartial<AuditInput> = {}): AuditInput {
  return {
    stack: "audit-fixture",
    environment: "dev",
    subjects,
    ...overrides,
    engine: { apparmor: true, selinux: false, ...overrides.engine },
  } as AuditInput;
}

/** A files writer as the engine reports it: created, never started, writable root, no network. */
export function writer(service = "db", started = false): AuditSubject {
  const s = subject({
    service,
    user: "999:999",
    networks: [NONE],
    processes: null,
    edit: (c, i) => {
      c.Config.Labels = { ...c.Config.Labels, "krc.role": "files-writer" };
      c.Config.Healthcheck = undefined;
      i.Config.Healthcheck = undefined;
      c.State = started
        ? { ...c.State, Status: "exited", Running: false, StartedAt: "2026-12-03T13:00:00Z", Health: undefined }
        : { ...c.State, Status: "created", Running: false, StartedAt: "0001-01-01T00:00:00Z", Health: undefined };
      Object.assign(c.HostConfig, {
        NetworkMode: "none",
        ReadonlyRootfs: false,
        Memory: 0,
        CpuShares: 0,
        RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
        LogConfig: { Type: "json-file", Config: {} },
      });
    },
  });
  return { ...s, role: "files-writer" };
}
