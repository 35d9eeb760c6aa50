import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";

/**
 * Stands up small stacks of real containers for the audit's live test when the project's own
 * stack is not deployed: a hardened one shaped like krc (db, api, proxy on an internal and an
 * external network) and a deliberately weak one. Everything carries `krc.stack=<name>` and is
 * removed by that label.
 */
export const IMAGE = "krc-audit-test/sleeper:1";

const docker = new Docker();

/** Builds a minimal image holding only /bin/sleep and its libraries (no registry needed). */
export function buildSleeperImage(stack: string): void {
  const root = mkdtempSync(join(tmpdir(), "krc-audit-"));
  try {
    const libs = execFileSync("ldd", ["/bin/sleep"], { encoding: "utf8" })
      .split("\n")
      .map((l) => /(\/\S+)\s+\(/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined);
    const files = ["/bin/sleep", ...libs].map((p) => p.replace(/^\//, ""));
    execFileSync("sh", [
      "-c",
      `tar -C / -chf - ${files.join(" ")} | docker import --change 'LABEL krc.stack=${stack}' --change 'CMD ["/bin/sleep","infinity"]' - ${IMAGE}`,
    ], { cwd: root, stdio: "pipe" });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Removes every container, network and image labelled `krc.stack=<stack>`. */
export async function removeStack(stack: string): Promise<void> {
  const label = { label: [`krc.stack=${stack}`] };
  for (const c of await docker.listContainers({ all: true, filters: label })) {
    await docker.getContainer(c.Id).remove({ force: true, v: true });
  }
  for (const n of await docker.listNetworks({ filters: label })) {
    await docker.getNetwork(n.Id).remove();
  }
  for (const i of await docker.listImages({ filters: label })) {
    await docker.getImage(i.Id).remove({ force: true });
  }
}

function labels(stack: string, service: string): Record<string, string> {
  return { "krc.project": "krc", "krc.stack": stack, "krc.service": service };
}

const HARDENED = {
  ReadonlyRootfs: true,
  CapDrop: ["ALL"],
  SecurityOpt: ["no-new-privileges:true"],
  Memory: 64 * 2 ** 20,
  CpuShares: 512,
  RestartPolicy: { Name: "unless-stopped" },
  LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
};

const HEALTHCHECK = { Test: ["CMD", "/bin/sleep", "0"], Interval: 1_000_000_000, Timeout: 1_000_000_000, Retries: 3 };

/** Creates and starts the hardened stack (plus a never-started files writer); returns container names. */
export async function createHardenedStack(stack: string): Promise<string[]> {
  const netLabels = { "krc.project": "krc", "krc.stack": stack };
  const internal = await docker.createNetwork({ Name: `krc-${stack}-internal`, Internal: true, Labels: netLabels });
  const external = await docker.createNetwork({ Name: `krc-${stack}-external`, Labels: netLabels });
  const specs = [
    { service: "db", user: "999:999", network: internal.id, extra: {} },
    { service: "api", user: "1000:1000", network: internal.id, extra: {} },
    {
      service: "proxy",
      user: "0",
      network: external.id,
      // An empty HostPort lets the engine pick a free one: other stacks share this engine.
      extra: { CapAdd: ["NET_BIND_SERVICE"], PortBindings: { "443/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] } },
    },
  ];
  const names: string[] = [];
  for (const spec of specs) {
    const name = `krc-${stack}-${spec.service}`;
    const container = await docker.createContainer({
      name,
      Image: IMAGE,
      User: spec.user,
      Labels: labels(stack, spec.service),
      Healthcheck: HEALTHCHECK,
      ExposedPorts: spec.service === "proxy" ? { "443/tcp": {} } : {},
      HostConfig: { ...HARDENED, ...spec.extra, NetworkMode: spec.network },
    });
    if (spec.service === "api") await external.connect({ Container: container.id });
    await container.start();
    names.push(name);
  }
  // The database's files writer: created, never started, writable root, no network.
  const writerName = `krc-${stack}-db-secrets-writer`;
  await docker.createContainer({
    name: writerName,
    Image: IMAGE,
    User: "999:999",
    Labels: { ...labels(stack, "db"), "krc.role": "files-writer" },
    HostConfig: { NetworkMode: "none", CapDrop: ["ALL"], SecurityOpt: ["no-new-privileges:true"], RestartPolicy: { Name: "no" } },
  });
  return [...names, writerName];
}

/** Creates and starts one container with Docker's defaults plus a few classic mistakes. */
export async function createWeakContainer(stack: string): Promise<string> {
  const name = `krc-${stack}-api`;
  const container = await docker.createContainer({
    name,
    Image: IMAGE,
    Labels: labels(stack, "api"),
    // A made-up credential: the audit must flag the name without printing the value.
    Env: ["DB_PASSWORD=not-a-real-password-but-named-like-one"],
    ExposedPorts: { "8080/tcp": {} },
    HostConfig: {
      Binds: ["/etc:/host-etc:ro"],
      PortBindings: { "8080/tcp": [{ HostIp: "", HostPort: "" }] },
    },
  });
  await container.start();
  return name;
}
