import type { ContainerInspectInfo, NetworkInspectInfo } from "dockerode";
import { describe, expect, it } from "vitest";
import { runAudit } from "../../tools/audit/audit";
import { CHECKS } from "../../tools/audit/checks";
import { foreignAttachments } from "../../tools/audit/checks/network";
import type { AuditInput, AuditSubject, Status } from "../../tools/audit/types";
import { EXTERNAL, INTERNAL, input, network, subject, writer } from "./audit-fixtures";

type HostConfig = ContainerInspectInfo["HostConfig"];

function host(edit: (h: HostConfig) => void) {
  return (c: ContainerInspectInfo) => edit(c.HostConfig);
}

function run(id: string, s: AuditSubject, i: AuditInput = input([s])) {
  const check = CHECKS.find((c) => c.id === id);
  if (!check) throw new Error(`no check ${id}`);
  return check.run(s, i);
}

interface Row {
  readonly id: string;
  readonly when: string;
  readonly subject: () => AuditSubject;
  readonly input?: (s: AuditSubject) => AuditInput;
  readonly status: Status;
  readonly detail: RegExp;
}

/** A network inspect whose `Containers` lists the given ids with their names. */
function attached(net: NetworkInspectInfo, containers: Record<string, string>): NetworkInspectInfo {
  const entries = Object.entries(containers).map(([id, name]) => [id, { Name: name, EndpointID: `${id}-ep`, MacAddress: "", IPv4Address: "", IPv6Address: "" }]);
  return { ...net, Containers: Object.fromEntries(entries) } as NetworkInspectInfo;
}

const db = () => subject({ service: "db", user: "999:999", networks: [INTERNAL] });
const proxy = (edit?: (c: ContainerInspectInfo) => void) => subject({ service: "proxy", user: "0", networks: [EXTERNAL], edit });

const ROWS: Row[] = [
  { id: "4.1", when: "the user is a numeric non-root uid", subject: () => subject(), status: "PASS", detail: /runs as 1000:1000/ },
  { id: "4.1", when: "the api runs as root", subject: () => subject({ user: "" }), status: "FAIL", detail: /runs as root/ },
  { id: "4.1", when: "the proxy runs as root", subject: () => proxy(), status: "EXCEPTION", detail: /runs as root/ },
  { id: "4.6", when: "the image declares a HEALTHCHECK", subject: () => subject(), status: "PASS", detail: /declares/ },
  { id: "4.6", when: "only the container sets a healthcheck", subject: () => subject({ edit: (_c, i) => void (i.Config.Healthcheck = undefined) }), status: "EXCEPTION", detail: /container sets one/ },
  { id: "4.6", when: "neither image nor container has one", subject: () => subject({ edit: (c, i) => { i.Config.Healthcheck = undefined; c.Config.Healthcheck = undefined; } }), status: "FAIL", detail: /none on the container/ },
  { id: "4.10", when: "the image ENV holds a token", subject: () => subject({ edit: (_c, i) => void i.Config.Env.push("GITHUB_TOKEN=abc") }), status: "FAIL", detail: /GITHUB_TOKEN/ },
  { id: "4.10", when: "the image ENV is harmless", subject: () => subject(), status: "PASS", detail: /no secret/ },
  { id: "5.2", when: "the engine has AppArmor and a profile applies", subject: () => subject(), status: "PASS", detail: /docker-default/ },
  { id: "5.2", when: "the engine has AppArmor but the container has none", subject: () => subject({ edit: (c) => void (c.AppArmorProfile = "") }), status: "FAIL", detail: /no AppArmor/ },
  { id: "5.2", when: "the engine lacks AppArmor", subject: () => subject({ edit: (c) => void (c.AppArmorProfile = "") }), input: (s) => input([s], { engine: { apparmor: false } }), status: "EXCEPTION", detail: /no AppArmor support/ },
  { id: "5.2", when: "AppArmor is explicitly unconfined", subject: () => subject({ edit: (c) => void (c.AppArmorProfile = "unconfined") }), input: (s) => input([s], { engine: { apparmor: false } }), status: "FAIL", detail: /unconfined/ },
  { id: "5.3", when: "the engine lacks SELinux", subject: () => subject(), status: "EXCEPTION", detail: /no SELinux/ },
  { id: "5.3", when: "the engine has SELinux but no label is set", subject: () => subject(), input: (s) => input([s], { engine: { selinux: true } }), status: "FAIL", detail: /no SELinux label/ },
  { id: "5.4", when: "ALL is dropped and nothing added", subject: () => subject(), status: "PASS", detail: /adds none/ },
  { id: "5.4", when: "nothing is dropped", subject: () => subject({ edit: host((h) => void (h.CapDrop = null)) }), status: "FAIL", detail: /not dropped/ },
  { id: "5.4", when: "the api adds a capability", subject: () => subject({ edit: host((h) => void (h.CapAdd = ["CAP_NET_ADMIN"])) }), status: "FAIL", detail: /adds NET_ADMIN/ },
  { id: "5.4", when: "the proxy adds NET_BIND_SERVICE", subject: () => proxy(host((h) => void (h.CapAdd = ["CAP_NET_BIND_SERVICE"]))), status: "EXCEPTION", detail: /NET_BIND_SERVICE/ },
  { id: "5.4", when: "the proxy adds SYS_ADMIN too", subject: () => proxy(host((h) => void (h.CapAdd = ["NET_BIND_SERVICE", "SYS_ADMIN"]))), status: "FAIL", detail: /adds SYS_ADMIN/ },
  { id: "5.5", when: "privileged", subject: () => subject({ edit: host((h) => void (h.Privileged = true)) }), status: "FAIL", detail: /privileged/ },
  { id: "5.5", when: "not privileged", subject: () => subject(), status: "PASS", detail: /not privileged/ },
  { id: "5.6", when: "/etc is bound", subject: () => subject({ edit: (c) => void c.Mounts.push({ Type: "bind", Source: "/etc", Destination: "/host", Mode: "", RW: false, Propagation: "rprivate" }) }), status: "FAIL", detail: /binds \/etc/ },
  { id: "5.6", when: "the host root is bound", subject: () => subject({ edit: (c) => void c.Mounts.push({ Type: "bind", Source: "/", Destination: "/host", Mode: "", RW: false, Propagation: "rprivate" }) }), status: "FAIL", detail: /binds \// },
  { id: "5.6", when: "only named volumes are mounted", subject: () => subject(), status: "PASS", detail: /no sensitive/ },
  { id: "5.7", when: "sshd runs", subject: () => subject({ processes: ["/usr/sbin/sshd -D", "node server.js"] }), status: "FAIL", detail: /sshd running/ },
  { id: "5.7", when: "the processes cannot be listed", subject: () => subject({ processes: { error: "ps not found" } }), status: "FAIL", detail: /cannot list processes: ps not found/ },
  { id: "5.7", when: "the container is stopped", subject: () => subject({ processes: null }), status: "PASS", detail: /not running/ },
  { id: "5.8", when: "the proxy maps host port 443", subject: () => proxy(host((h) => void (h.PortBindings = { "443/tcp": [{ HostIp: "203.0.113.7", HostPort: "443" }] }))), status: "EXCEPTION", detail: /443/ },
  { id: "5.8", when: "the api maps host port 80", subject: () => subject({ edit: host((h) => void (h.PortBindings = { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "80" }] })) }), status: "FAIL", detail: /80/ },
  { id: "5.9", when: "the api publishes a port", subject: () => subject({ edit: host((h) => void (h.PortBindings = { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "18080" }] })) }), status: "FAIL", detail: /allowed for api: none/ },
  { id: "5.9", when: "the proxy publishes 443/tcp", subject: () => proxy(host((h) => void (h.PortBindings = { "443/tcp": [{ HostIp: "127.0.0.1", HostPort: "8443" }] }))), status: "PASS", detail: /443\/tcp/ },
  { id: "5.9", when: "all exposed ports are published", subject: () => proxy(host((h) => void (h.PublishAllPorts = true))), status: "FAIL", detail: /all exposed/ },
  { id: "5.10", when: "the host network is used", subject: () => subject({ edit: host((h) => void (h.NetworkMode = "host")) }), status: "FAIL", detail: /host/ },
  { id: "5.11", when: "no memory limit", subject: () => subject({ edit: host((h) => void (h.Memory = 0)) }), status: "FAIL", detail: /no memory/ },
  { id: "5.11", when: "a memory limit", subject: () => subject(), status: "PASS", detail: /256 MiB/ },
  { id: "5.12", when: "no cpu shares", subject: () => subject({ edit: host((h) => void (h.CpuShares = 0)) }), status: "FAIL", detail: /not set/ },
  { id: "5.13", when: "the root filesystem is writable", subject: () => subject({ edit: host((h) => void (h.ReadonlyRootfs = false)) }), status: "FAIL", detail: /writable/ },
  { id: "5.13", when: "the root filesystem is read-only", subject: () => subject(), status: "PASS", detail: /read-only/ },
  { id: "5.14", when: "a port is bound to all interfaces", subject: () => proxy(host((h) => void (h.PortBindings = { "443/tcp": [{ HostIp: "", HostPort: "8443" }] }))), status: "FAIL", detail: /all interfaces/ },
  { id: "5.14", when: "ports are bound to one address", subject: () => proxy(host((h) => void (h.PortBindings = { "443/tcp": [{ HostIp: "127.0.0.1", HostPort: "8443" }] }))), status: "PASS", detail: /127\.0\.0\.1/ },
  { id: "5.15", when: "on-failure:5", subject: () => subject(), status: "PASS", detail: /on-failure:5/ },
  { id: "5.15", when: "a service uses unless-stopped", subject: () => subject({ edit: host((h) => void (h.RestartPolicy = { Name: "unless-stopped" })) }), status: "EXCEPTION", detail: /unless-stopped/ },
  { id: "5.15", when: "always", subject: () => subject({ edit: host((h) => void (h.RestartPolicy = { Name: "always" })) }), status: "FAIL", detail: /always/ },
  { id: "5.15", when: "the migrate job never restarts", subject: () => subject({ service: "migrate", networks: [INTERNAL], edit: host((h) => void (h.RestartPolicy = { Name: "no" })) }), status: "EXCEPTION", detail: /restart no/ },
  { id: "5.15", when: "the api never restarts", subject: () => subject({ edit: host((h) => void (h.RestartPolicy = { Name: "no" })) }), status: "FAIL", detail: /restart no/ },
  { id: "5.16", when: "the host PID namespace is shared", subject: () => subject({ edit: host((h) => void (h.PidMode = "host")) }), status: "FAIL", detail: /PID mode is host/ },
  { id: "5.17", when: "the host IPC namespace is shared", subject: () => subject({ edit: host((h) => void (h.IpcMode = "host")) }), status: "FAIL", detail: /IPC mode is host/ },
  { id: "5.18", when: "a host device is exposed", subject: () => subject({ edit: host((h) => void (h.Devices = [{ PathOnHost: "/dev/sda", PathInContainer: "/dev/sda", CgroupPermissions: "rwm" }])) }), status: "FAIL", detail: /\/dev\/sda/ },
  { id: "5.19", when: "a ulimit is overridden", subject: () => subject({ edit: host((h) => void (h.Ulimits = [{ Name: "nofile", Soft: 1, Hard: 1 }])) }), status: "FAIL", detail: /nofile/ },
  { id: "5.20", when: "a mount propagates shared", subject: () => subject({ edit: (c) => void c.Mounts.push({ Type: "volume", Source: "/x", Destination: "/data", Mode: "", RW: true, Propagation: "rshared" }) }), status: "FAIL", detail: /\/data/ },
  { id: "5.21", when: "the host UTS namespace is shared", subject: () => subject({ edit: host((h) => void (h.UTSMode = "host")) }), status: "FAIL", detail: /UTS mode is host/ },
  { id: "5.22", when: "seccomp is unconfined", subject: () => subject({ edit: host((h) => void h.SecurityOpt.push("seccomp=unconfined")) }), status: "FAIL", detail: /unconfined/ },
  { id: "5.22", when: "the default profile applies", subject: () => subject(), status: "PASS", detail: /default seccomp/ },
  { id: "5.25", when: "a custom cgroup parent is used", subject: () => subject({ edit: host((h) => void (h.CgroupParent = "/custom")) }), status: "FAIL", detail: /\/custom/ },
  { id: "5.26", when: "no-new-privileges is missing", subject: () => subject({ edit: host((h) => void (h.SecurityOpt = [])) }), status: "FAIL", detail: /not set/ },
  { id: "5.26", when: "no-new-privileges is set without a value", subject: () => subject({ edit: host((h) => void (h.SecurityOpt = ["no-new-privileges"])) }), status: "PASS", detail: /no-new-privileges/ },
  { id: "5.27", when: "the container is unhealthy", subject: () => subject({ edit: (c) => void (c.State.Health = { Status: "unhealthy", FailingStreak: 3, Log: [] }) }), status: "FAIL", detail: /unhealthy/ },
  { id: "5.27", when: "a service has no healthcheck", subject: () => subject({ edit: (c) => void (c.Config.Healthcheck = { Test: ["NONE"] }) }), status: "FAIL", detail: /no healthcheck/ },
  { id: "5.27", when: "the migrate job has no healthcheck", subject: () => subject({ service: "migrate", edit: (c) => void (c.Config.Healthcheck = undefined) }), status: "EXCEPTION", detail: /no healthcheck/ },
  { id: "5.27", when: "the container is healthy", subject: () => subject(), status: "PASS", detail: /healthy/ },
  { id: "5.28", when: "the reference resolves to another image now", subject: () => subject({ currentImageId: `sha256:${"b".repeat(64)}` }), status: "FAIL", detail: /now resolves/ },
  { id: "5.28", when: "the reference no longer resolves", subject: () => subject({ currentImageId: undefined }), status: "FAIL", detail: /no longer resolves/ },
  { id: "5.28", when: "the container runs the current image", subject: () => subject(), status: "PASS", detail: /resolves to/ },
  { id: "5.29", when: "a pids limit is set", subject: () => subject(), status: "PASS", detail: /128/ },
  { id: "5.29", when: "no pids limit is set", subject: () => subject({ edit: host((h) => void (h.PidsLimit = undefined)) }), status: "EXCEPTION", detail: /no pids limit/ },
  { id: "5.30", when: "on the default bridge", subject: () => subject({ networks: [network("bridge", false)], edit: host((h) => void (h.NetworkMode = "default")) }), status: "FAIL", detail: /default bridge/ },
  { id: "5.31", when: "the host user namespace is shared", subject: () => subject({ edit: host((h) => void (h.UsernsMode = "host")) }), status: "FAIL", detail: /user namespace mode is host/ },
  { id: "5.32", when: "the docker socket is mounted", subject: () => subject({ edit: (c) => void c.Mounts.push({ Type: "bind", Source: "/run/docker.sock", Destination: "/var/run/docker.sock", Mode: "", RW: true, Propagation: "rprivate" }) }), status: "FAIL", detail: /docker\.sock/ },
  { id: "5.32", when: "no socket is mounted", subject: () => subject(), status: "PASS", detail: /no runtime socket/ },
  { id: "KRC-LOG", when: "json-file has no max-size", subject: () => subject({ edit: host((h) => void (h.LogConfig = { Type: "json-file", Config: {} })) }), status: "FAIL", detail: /without rotation/ },
  { id: "KRC-LOG", when: "the local driver is used", subject: () => subject({ edit: host((h) => void (h.LogConfig = { Type: "local", Config: {} })) }), status: "PASS", detail: /local driver/ },
  { id: "KRC-ENV", when: "a password is in the environment", subject: () => subject({ edit: (c) => void c.Config.Env.push("DATABASE_PASSWORD=s3cret") }), status: "FAIL", detail: /DATABASE_PASSWORD is named like a secret/ },
  { id: "KRC-ENV", when: "a random key hides under a harmless name", subject: () => subject({ edit: (c) => void c.Config.Env.push(`SETTING=${"9f".repeat(32)}`) }), status: "FAIL", detail: /SETTING holds what looks like a long hex/ },
  { id: "KRC-ENV", when: "only *_FILE paths carry secrets", subject: () => subject(), status: "PASS", detail: /none secret/ },
  { id: "KRC-DIGEST", when: "prod runs a tag", subject: () => subject({ edit: (c) => void (c.Config.Image = "postgres:17") }), input: (s) => input([s], { environment: "prod" }), status: "FAIL", detail: /not pinned/ },
  { id: "KRC-DIGEST", when: "prod runs a digest", subject: () => subject({ edit: (c) => void (c.Config.Image = `postgres:17@sha256:${"c".repeat(64)}`) }), input: (s) => input([s], { environment: "prod" }), status: "PASS", detail: /pinned/ },
  { id: "KRC-NET1", when: "the database is on the external network", subject: () => subject({ service: "db", networks: [INTERNAL, EXTERNAL] }), status: "FAIL", detail: /internal networks only/ },
  { id: "KRC-NET1", when: "the database is on the internal network only", subject: db, status: "PASS", detail: /internal: krc-audit-fixture-internal/ },
  { id: "KRC-NET1", when: "the api lacks the internal network", subject: () => subject({ networks: [EXTERNAL] }), status: "FAIL", detail: /internal and an external/ },
  { id: "KRC-NET1", when: "the proxy shares a network with the database", subject: () => subject({ service: "proxy", user: "0", networks: [EXTERNAL, INTERNAL] }), input: (s) => input([s, db()]), status: "FAIL", detail: /shares krc-audit-fixture-internal with the database/ },
  { id: "KRC-NET1", when: "the proxy is apart from the database", subject: () => proxy(), input: (s) => input([s, db()]), status: "PASS", detail: /no network shared/ },
  { id: "KRC-NET1", when: "the service label is missing", subject: () => subject({ edit: (c) => void (c.Config.Labels = {}) }), status: "FAIL", detail: /unknown service/ },
  { id: "KRC-NET2", when: "a foreign network is attached", subject: () => subject({ networks: [INTERNAL, network("someone-else", false, "other")] }), status: "FAIL", detail: /someone-else/ },
  { id: "KRC-NET2", when: "all networks belong to the stack", subject: () => subject(), status: "PASS", detail: /audit-fixture/ },
  { id: "KRC-NET3", when: "only the stack's containers are on its networks", subject: () => subject({ networks: [attached(INTERNAL, { "api-id": "krc-audit-fixture-api", "db-id": "krc-audit-fixture-db" })] }), input: (s) => input([s, db()]), status: "PASS", detail: /only the stack's containers on krc-audit-fixture-internal/ },
  { id: "KRC-NET3", when: "a container of another stack is on the internal network", subject: () => subject({ networks: [attached(INTERNAL, { "api-id": "krc-audit-fixture-api", "other-id": "krc-other-api" })] }), status: "FAIL", detail: /krc-other-api on krc-audit-fixture-internal/ },
  { id: "KRC-NET3", when: "an unlabelled container with no name is on the external network", subject: () => subject({ networks: [INTERNAL, attached(EXTERNAL, { "api-id": "krc-audit-fixture-api", ["f".repeat(64)]: "" })] }), status: "FAIL", detail: /ffffffffffff on krc-audit-fixture-external/ },
  { id: "5.10", when: "the container has its own network namespace", subject: () => subject(), status: "PASS", detail: /network mode/ },
  { id: "5.12", when: "cpu shares are set", subject: () => subject(), status: "PASS", detail: /cpu shares 512/ },
  { id: "5.16", when: "the PID namespace is private", subject: () => subject(), status: "PASS", detail: /PID mode/ },
  { id: "5.17", when: "the IPC namespace is private", subject: () => subject(), status: "PASS", detail: /IPC mode "private"/ },
  { id: "5.18", when: "no device is exposed", subject: () => subject(), status: "PASS", detail: /no host device/ },
  { id: "5.19", when: "the daemon's ulimits apply", subject: () => subject(), status: "PASS", detail: /daemon default/ },
  { id: "5.20", when: "no mount propagates shared", subject: () => subject(), status: "PASS", detail: /no shared mount/ },
  { id: "5.21", when: "the UTS namespace is private", subject: () => subject(), status: "PASS", detail: /UTS mode/ },
  { id: "5.25", when: "the default cgroup parent is used", subject: () => subject(), status: "PASS", detail: /default cgroup/ },
  { id: "5.29", when: "an unlabelled container has no pids limit", subject: () => subject({ edit: (c) => { c.HostConfig.PidsLimit = undefined; c.Config.Labels = {}; } }), status: "FAIL", detail: /does not cover service <unlabelled>/ },
  { id: "5.30", when: "only the stack's networks are attached", subject: () => subject(), status: "PASS", detail: /krc-audit-fixture-internal/ },
  {
    id: "5.30",
    when: "created in the default mode but detached from the bridge (the provider's networks_advanced)",
    subject: () => subject({ edit: host((h) => void (h.NetworkMode = "default")) }),
    status: "PASS",
    detail: /krc-audit-fixture-internal/,
  },
  { id: "5.31", when: "the user namespace is not the host's", subject: () => subject(), status: "PASS", detail: /user namespace mode/ },
];

describe("audit checks", () => {
  it.each(ROWS)("$id reports $status when $when", (row) => {
    const s = row.subject();
    const finding = run(row.id, s, row.input?.(s));
    expect(finding.status).toBe(row.status);
    expect(finding.detail).toMatch(row.detail);
  });

  it("does not extend an exception to a service it was not written for", () => {
    const finding = run("4.1", subject({ service: "db", user: "root", networks: [INTERNAL] }));
    expect(finding.status).toBe("FAIL");
  });

  it("does not repeat a secret value in a finding when the environment leaks one", () => {
    const value = "Zx9".repeat(12);
    const finding = run("KRC-ENV", subject({ edit: (c) => void c.Config.Env.push(`OPTION=${value}`) }));
    expect(finding.status).toBe("FAIL");
    expect(finding.detail).not.toContain(value);
  });

  it("has a pass and a fail case for every check when the table is complete", () => {
    for (const check of CHECKS) {
      const statuses = ROWS.filter((r) => r.id === check.id).map((r) => r.status);
      expect.soft(statuses, check.id).toContain("FAIL");
      expect.soft(statuses.some((s) => s !== "FAIL"), check.id).toBe(true);
    }
  });

  it("reports every check for every container when run over a stack", () => {
    const results = runAudit(input([subject(), db()]));
    expect(results).toHaveLength(CHECKS.length * 2);
    expect(results.filter((r) => r.status === "FAIL")).toEqual([]);
  });
});

describe("foreignAttachments", () => {
  it("ignores containers on networks that are not the stack's when it lists foreign attachments", () => {
    const other = attached(network("krc-other-internal", true, "other"), { "x-id": "krc-other-db" });
    expect(foreignAttachments([other], "audit-fixture", new Set())).toEqual([]);
  });

  it("lists every foreign container on every stack network, sorted, when several are attached", () => {
    const nets = [attached(EXTERNAL, { "b-id": "b", "api-id": "api" }), attached(INTERNAL, { "a-id": "a", "api-id": "api" })];
    expect(foreignAttachments(nets, "audit-fixture", new Set(["api-id"]))).toEqual([
      { network: "krc-audit-fixture-external", container: "b" },
      { network: "krc-audit-fixture-internal", container: "a" },
    ]);
  });
});

describe("audit checks on files writers", () => {
  it("reports no FAIL for a writer that never started when its runtime checks cannot apply", () => {
    const results = runAudit(input([writer()]));
    expect(results.filter((r) => r.status === "FAIL")).toEqual([]);
    expect(results.find((r) => r.checkId === "5.13")).toMatchObject({ status: "EXCEPTION", exception: "files-writer-writable-root" });
    expect(results.find((r) => r.checkId === "5.11")).toMatchObject({ status: "EXCEPTION", exception: "files-writer-never-started" });
    expect(results.find((r) => r.checkId === "KRC-NET1")).toMatchObject({ status: "PASS", detail: "files writer: no network" });
  });

  it("fails the runtime checks of a writer once it has been started", () => {
    const results = runAudit(input([writer("db", true)]));
    const failed = results.filter((r) => r.status === "FAIL").map((r) => r.checkId);
    expect(failed).toEqual(expect.arrayContaining(["5.11", "5.12", "5.13", "5.15", "KRC-LOG"]));
  });

  it("fails a writer that joins a network", () => {
    const s = writer();
    const joined = { ...s, networks: { [INTERNAL.Name]: INTERNAL } };
    expect(run("KRC-NET1", joined).status).toBe("FAIL");
  });
});
