/**
 * Network isolation of the deployed stack, proven from inside the project's own containers (never
 * by contacting an outside address): the API reaches the database over the internal network;
 * the database reaches nothing beyond that network; neither the proxy nor any container on the
 * external network can reach the database; only the proxy publishes ports. Every refusal is
 * paired with a positive control made the same way, so a broken probe cannot pass as isolation.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import type { ContainerInspectInfo } from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../support/harness/providers/docker/engine";
import type { StackJson } from "../support/harness/stackJson";
import { sharedStackJson } from "../support/live-stack";

const run = promisify(execFile);

/** A TCP connect with a 3 s bound, in node (the API image has node; no shell tools needed). */
const NODE_PROBE = `const [h, p] = process.argv.slice(1);
const s = require("net").connect({ host: h, port: Number(p), timeout: 3000 });
s.on("connect", () => { console.log("open"); process.exit(0); });
s.on("timeout", () => { console.log("timeout"); process.exit(2); });
s.on("error", (e) => { console.log(e.code); process.exit(3); });`;

type Probe = "open" | "closed";

async function exec(container: string, argv: string[]): Promise<Probe> {
  try {
    const { stdout } = await run("docker", ["exec", container, ...argv], { timeout: 15_000 });
    return stdout.includes("open") ? "open" : "closed";
  } catch {
    return "closed";
  }
}

/** From the API container (node). */
const fromApi = (c: string, host: string, port: number): Promise<Probe> => exec(c, ["node", "-e", NODE_PROBE, host, String(port)]);
/** From the database container (bash's /dev/tcp, as in the official Debian-based postgres image). */
const fromDb = (c: string, host: string, port: number): Promise<Probe> =>
  exec(c, ["bash", "-c", `timeout 3 bash -c 'exec 3<>/dev/tcp/${host}/${port}' && echo open`]);
/** From the proxy container (busybox nc, as in the official Alpine-based caddy image). */
const fromProxy = (c: string, host: string, port: number): Promise<Probe> =>
  exec(c, ["sh", "-c", `echo | busybox nc -w 3 ${host} ${port} >/dev/null && echo open`]);

let stack: StackJson;
let byService: Record<"db" | "api" | "proxy", ContainerInspectInfo>;
let externalNetwork = "";
let internalNetwork = "";
const probeName = `krc-netprobe-${process.pid}`;

function ipOn(container: ContainerInspectInfo, network: string): string {
  const ip = container.NetworkSettings.Networks[network]?.IPAddress;
  if (!ip) throw new Error(`${container.Name} has no address on ${network}`);
  return ip;
}

/** A throwaway client on the external network (the API image's base: node), removed afterwards. */
async function fromExternalClient(host: string, port: number): Promise<Probe> {
  try {
    const { stdout } = await run(
      "docker",
      ["run", "--rm", "--name", probeName, "--label", `krc.stack=${stack.stack}-netprobe`, "--network", externalNetwork, "--read-only", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges:true", "--user", "1000:1000", "krc-standin/node:20", "node", "-e", NODE_PROBE, host, String(port)],
      { timeout: 30_000 },
    );
    return stdout.includes("open") ? "open" : "closed";
  } catch {
    return "closed";
  }
}

beforeAll(async () => {
  stack = JSON.parse(readFileSync(await sharedStackJson(), "utf8")) as StackJson;
  const find = async (suffix: string): Promise<ContainerInspectInfo> => {
    const name = stack.containers.find((n) => n.endsWith(suffix));
    if (name === undefined) throw new Error(`stack.json lists no container ending in ${suffix}`);
    return docker.getContainer(name).inspect();
  };
  byService = { db: await find("-db"), api: await find("-api"), proxy: await find("-proxy") };
  [internalNetwork] = Object.keys(byService.db.NetworkSettings.Networks) as [string];
  [externalNetwork] = Object.keys(byService.proxy.NetworkSettings.Networks) as [string];
});

afterAll(async () => {
  await run("docker", ["rm", "-f", probeName]).catch(() => undefined);
});

describe("the stack's networks", () => {
  it("puts the database on the internal network only, and that network has no egress", async () => {
    expect(Object.keys(byService.db.NetworkSettings.Networks)).toEqual([internalNetwork]);
    expect((await docker.getNetwork(internalNetwork).inspect()).Internal).toBe(true);
    expect((await docker.getNetwork(externalNetwork).inspect()).Internal).toBe(false);
  });

  it("lets the API reach the database over the internal network (the positive control)", async () => {
    const db = byService.db;
    expect(await fromApi(byService.api.Name.slice(1), ipOn(db, internalNetwork), 5432)).toBe("open");
  });

  it("keeps the database from reaching the external network: neither the proxy nor the API's external address", async () => {
    const db = byService.db.Name.slice(1);
    expect(await fromDb(db, ipOn(byService.api, internalNetwork), 8080)).toBe("open"); // control: same probe, same network
    expect(await fromDb(db, ipOn(byService.proxy, externalNetwork), 443)).toBe("closed");
    expect(await fromDb(db, ipOn(byService.api, externalNetwork), 8080)).toBe("closed");
  });

  it("keeps the proxy from reaching the database, by address and by name", async () => {
    const proxy = byService.proxy.Name.slice(1);
    expect(await fromProxy(proxy, ipOn(byService.api, externalNetwork), 8080)).toBe("open"); // control
    expect(await fromProxy(proxy, ipOn(byService.db, internalNetwork), 5432)).toBe("closed");
    expect(await fromProxy(proxy, byService.db.Name.slice(1), 5432)).toBe("closed");
  });

  it("keeps any other container on the external network from reaching the database", async () => {
    expect(await fromExternalClient(ipOn(byService.proxy, externalNetwork), 443)).toBe("open"); // control
    expect(await fromExternalClient(ipOn(byService.db, internalNetwork), 5432)).toBe("closed");
    expect(await fromExternalClient(byService.db.Name.slice(1), 5432)).toBe("closed");
  });

  it("publishes ports only for the proxy, each bound to one address", () => {
    for (const [service, info] of Object.entries(byService)) {
      const bindings = Object.values(info.HostConfig.PortBindings ?? {}).flat();
      if (service === "proxy") {
        expect(bindings.length).toBeGreaterThan(0);
        for (const b of bindings as { HostIp?: string }[]) expect(b.HostIp, "a specific address, not all interfaces").toBe("127.0.0.1");
      } else {
        expect(bindings, service).toEqual([]);
      }
    }
  });
});
