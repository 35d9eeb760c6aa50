import { describe, expect, it } from "vitest";
import { TYPES, type ContainerProps } from "../../policy/rules/common";
import { containerIsolation, containerPorts, containerPrivileges, containerResources } from "../../policy/rules/containers";
import { containerProps, validateResource } from "./args";

type Edit = (p: ContainerProps) => void;

async function violations(policy: Parameters<typeof validateResource>[0], service: string, edit?: Edit) {
  return validateResource(policy, TYPES.container, containerProps(service, edit));
}

describe("krc-container-privileges", () => {
  it.each(["db", "migrate", "api", "proxy"])("passes the baseline %s container when it is hardened", async (service) => {
    expect(await violations(containerPrivileges, service)).toEqual([]);
  });

  it.each<[string, string, Edit, RegExp]>([
    ["the api runs as root", "api", (p) => void (p.user = "0:0"), /runs as root/],
    ["the user is left to the image", "db", (p) => void (p.user = undefined), /runs as root/],
    ["ALL is not dropped", "api", (p) => void (p.capabilities = { drops: ["NET_RAW"] }), /drops must contain ALL/],
    ["the api adds a capability", "api", (p) => void (p.capabilities = { drops: ["ALL"], adds: ["CAP_CHOWN"] }), /CHOWN not allowed \(allowed: none\)/],
    ["the proxy adds more than NET_BIND_SERVICE", "proxy", (p) => void (p.capabilities = { drops: ["ALL"], adds: ["NET_BIND_SERVICE", "SYS_ADMIN"] }), /SYS_ADMIN not allowed \(allowed: NET_BIND_SERVICE\)/],
    ["no-new-privileges is missing", "api", (p) => void (p.securityOpts = []), /no-new-privileges/],
    ["seccomp is disabled", "api", (p) => void p.securityOpts?.push("seccomp=unconfined"), /seccomp/],
    ["AppArmor is disabled", "api", (p) => void p.securityOpts?.push("apparmor:unconfined"), /AppArmor/],
    ["privileged is set", "api", (p) => void (p.privileged = true), /privileged/],
    ["the service label is missing", "api", (p) => void (p.labels = []), /no known krc.service label/],
  ])("reports a violation when %s", async (_when, service, edit, message) => {
    expect(await violations(containerPrivileges, service, edit)).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  });

  it("ignores resources that are not containers", async () => {
    expect(await validateResource(containerPrivileges, TYPES.network, { name: "krc-dev-internal" })).toEqual([]);
  });
});

describe("krc-container-isolation", () => {
  it("passes a container that shares nothing with the host", async () => {
    expect(await violations(containerIsolation, "api")).toEqual([]);
  });

  it.each<[string, Edit, RegExp]>([
    ["the host network is used", (p) => void (p.networkMode = "host"), /networkMode must not be host/],
    ["the host PID namespace is used", (p) => void (p.pidMode = "host"), /pidMode/],
    ["the host IPC namespace is used", (p) => void (p.ipcMode = "host"), /ipcMode/],
    ["the host user namespace is used", (p) => void (p.usernsMode = "host"), /usernsMode/],
    ["a device is passed", (p) => void (p.devices = [{ hostPath: "/dev/kvm" }]), /devices/],
    ["a host path is bound", (p) => void p.mounts?.push({ type: "bind", source: "/srv", target: "/srv" }), /bind of host path \/srv/],
    ["a mount propagates shared", (p) => void p.mounts?.push({ type: "volume", source: "v", target: "/v", bindOptions: { propagation: "rshared" } }), /rshared/],
    ["the docker socket is mounted", (p) => void (p.volumes = [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }]), /runtime socket/],
    ["/etc is mounted", (p) => void (p.volumes = [{ hostPath: "/etc", containerPath: "/host-etc" }]), /sensitive host path \/etc/],
  ])("reports a violation when %s", async (_when, edit, message) => {
    expect(await violations(containerIsolation, "api", edit)).toEqual([expect.stringMatching(message)]);
  });
});

describe("krc-container-resources", () => {
  it.each(["db", "migrate", "api", "proxy"])("passes the baseline %s container when limits, health and logs are set", async (service) => {
    expect(await violations(containerResources, service)).toEqual([]);
  });

  it.each<[string, string, Edit, RegExp]>([
    ["the root filesystem is writable", "api", (p) => void (p.readOnly = false), /readOnly must be true/],
    ["there is no memory limit", "db", (p) => void (p.memory = undefined), /memory/],
    ["cpu shares are missing", "api", (p) => void (p.cpuShares = 0), /cpuShares/],
    ["a service has no healthcheck", "db", (p) => void (p.healthcheck = undefined), /healthcheck/],
    ["a service restarts always", "api", (p) => void (p.restart = "always"), /unless-stopped or on-failure \(got always\)/],
    ["a one-shot job restarts", "migrate", (p) => void (p.restart = "on-failure"), /must be "no" for a one-shot job/],
    ["json-file logs are not rotated", "api", (p) => void (p.logOpts = {}), /max-size/],
    ["another log driver is used", "api", (p) => void (p.logDriver = "syslog"), /syslog is not allowed/],
  ])("reports a violation when %s", async (_when, service, edit, message) => {
    expect(await violations(containerResources, service, edit)).toEqual([expect.stringMatching(message)]);
  });
});

describe("krc-container-ports", () => {
  it("passes the proxy when it publishes 80 and 443 on one address", async () => {
    const edit: Edit = (p) => void (p.ports = [{ internal: 80, external: 80, ip: "203.0.113.7" }, { internal: 443, external: 443, ip: "203.0.113.7" }]);
    expect(await violations(containerPorts, "proxy", edit)).toEqual([]);
  });

  it.each<[string, string, Edit, RegExp]>([
    ["the database publishes its port", "db", (p) => void (p.ports = [{ internal: 5432, external: 5432, ip: "127.0.0.1" }]), /publishes 5432\/tcp \(allowed: none\)/],
    ["the proxy binds all interfaces", "proxy", (p) => void (p.ports = [{ internal: 443, external: 443 }]), /specific address/],
    ["the proxy binds 0.0.0.0", "proxy", (p) => void (p.ports = [{ internal: 443, external: 443, ip: "0.0.0.0" }]), /specific address/],
    ["the proxy publishes its admin port", "proxy", (p) => void (p.ports = [{ internal: 2019, external: 2019, ip: "127.0.0.1" }]), /2019\/tcp/],
    ["all ports are published", "api", (p) => void (p.publishAllPorts = true), /publishAllPorts/],
  ])("reports a violation when %s", async (_when, service, edit, message) => {
    expect(await violations(containerPorts, service, edit)).toEqual([expect.stringMatching(message)]);
  });
});

describe("files writers", () => {
  const writer: Edit = (p) => {
    p.labels?.push({ label: "krc.role", value: "files-writer" });
    p.start = false;
    p.restart = "no";
    p.readOnly = false;
    p.networkMode = "none";
    p.networksAdvanced = [];
    p.healthcheck = undefined;
    p.memory = undefined;
    p.cpuShares = undefined;
    p.logOpts = undefined;
  };

  it("passes a never-started writer without network when it only receives uploads", async () => {
    expect(await violations(containerResources, "db", writer)).toEqual([]);
    expect(await violations(containerPrivileges, "db", writer)).toEqual([]);
  });

  it.each<[string, Edit, RegExp]>([
    ["it would be started", (p) => void (p.start = true), /start: false/],
    ["it joins a network", (p) => void (p.networkMode = "krc-dev-internal"), /networkMode none/],
    ["it restarts", (p) => void (p.restart = "unless-stopped"), /never restart/],
  ])("reports a violation when %s", async (_when, edit, message) => {
    expect(await violations(containerResources, "db", (p) => { writer(p); edit(p); })).toEqual([expect.stringMatching(message)]);
  });

  it("reports a violation when a writer of the proxy publishes a port", async () => {
    const edit: Edit = (p) => { writer(p); p.ports = [{ internal: 443, external: 443, ip: "127.0.0.1" }]; };
    expect(await violations(containerPorts, "proxy", edit)).toEqual([expect.stringMatching(/allowed: none/)]);
  });

  it("still requires a non-root user and no capabilities of a writer when its service is not the proxy", async () => {
    const edit: Edit = (p) => { writer(p); p.user = "0:0"; p.capabilities = { drops: ["ALL"], adds: ["DAC_OVERRIDE"] }; };
    expect(await violations(containerPrivileges, "db", edit)).toEqual([expect.stringMatching(/runs as root/), expect.stringMatching(/DAC_OVERRIDE not allowed/)]);
  });
});
