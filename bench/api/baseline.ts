/**
 * The API section's baseline: the same Caddy (a container from the deployed proxy's image, with
 * its hardening, limits and the deployed Caddyfile, so the same TLS policy, headers and logs) in
 * front of a minimal Node HTTP server that returns a fixed JSON body. Both run on their own
 * labeled network; Caddy is published on its own port on 127.0.0.1.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CADDY_STORAGE_ROOT } from "../../infra/caddyfile";
import { API_PORT } from "../../infra/naming";
import { copyFileFromContainer } from "../../test/support/harness/providers/docker/files";
import { BENCH_LABELS, BENCH_PREFIX, freePort, hardeningFlags, inspect, waitFor, type ContainerInfo } from "../lib/dockerObjects";
import { connect, send, type Endpoint } from "../lib/load";
import { docker } from "../lib/proc";

/** The fixed body the baseline server answers every request with. */
export const BASELINE_BODY = JSON.stringify({ status: "ok" });

/** The whole baseline server: no framework, no logging, no database. */
const SERVER_JS = `"use strict";
const http = require("node:http");
const body = ${JSON.stringify(BASELINE_BODY)};
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(${API_PORT}, "0.0.0.0");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;

/** A running baseline; `stop` removes its containers, network, volumes and files. */
export interface Baseline {
  readonly endpoint: Endpoint;
  /** Container names of the baseline's Caddy and server. */
  readonly containers: { readonly proxy: string; readonly server: string };
  stop(): Promise<void>;
}

/** The upstream the deployed Caddyfile proxies to (`reverse_proxy <host>:<port>`). */
export function replaceUpstream(caddyfile: string, upstream: string): string {
  const pattern = /^(\s*reverse_proxy\s+)(\S+)/gm;
  const found = [...caddyfile.matchAll(pattern)];
  if (found.length !== 1) throw new Error(`expected exactly one reverse_proxy line in the deployed Caddyfile, found ${found.length}`);
  return caddyfile.replace(pattern, `$1${upstream}`);
}

/**
 * Starts the baseline next to the deployed stack: `proxy` and `api` are the deployed containers it
 * copies (image, hardening and limits), `apiHost` the host name the Caddyfile serves.
 */
export async function startBaseline(proxy: string, api: string, apiHost: string): Promise<Baseline> {
  const files = mkdtempSync(join(tmpdir(), "krc-bench-baseline-"));
  const network = `${BENCH_PREFIX}-net`;
  const server = `${BENCH_PREFIX}-echo`;
  const caddy = `${BENCH_PREFIX}-proxy`;
  const stop = async (): Promise<void> => {
    await docker(["rm", "-f", "-v", caddy, server]).catch(() => undefined);
    await docker(["network", "rm", network]).catch(() => undefined);
    await docker(["volume", "rm", `${caddy}-data`, `${caddy}-config`]).catch(() => undefined);
    rmSync(files, { recursive: true, force: true });
  };
  try {
    const proxyInfo = await inspect<ContainerInfo>(proxy);
    const apiInfo = await inspect<ContainerInfo>(api);
    const serverDir = join(files, "server");
    const etcDir = join(files, "etc");
    // Readable by the server's non-root user; nothing secret is in them.
    chmodSync(files, 0o755);
    for (const dir of [serverDir, etcDir]) mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(serverDir, "server.js"), SERVER_JS, { mode: 0o644 });
    const deployed = (await copyFileFromContainer(proxy, "/etc/caddy/Caddyfile", 10_000)).toString("utf8");
    writeFileSync(join(etcDir, "Caddyfile"), replaceUpstream(deployed, `${server}:${API_PORT}`), { mode: 0o644 });

    await docker(["network", "create", ...BENCH_LABELS, network]);
    for (const v of ["data", "config"]) await docker(["volume", "create", ...BENCH_LABELS, `${caddy}-${v}`]);
    // The server runs in the API's image (same node, same base) under the API's constraints.
    await docker(["run", "-d", "--name", server, ...BENCH_LABELS, "--network", network, ...hardeningFlags(apiInfo),
      "-v", `${serverDir}:/bench:ro`, "--entrypoint", "node", apiInfo.Image, "/bench/server.js"]);
    const port = await freePort();
    await docker(["run", "-d", "--name", caddy, ...BENCH_LABELS, "--network", network, ...hardeningFlags(proxyInfo),
      "-p", `127.0.0.1:${port}:443`,
      "-v", `${caddy}-data:/data`, "-v", `${caddy}-config:/config`, "-v", `${etcDir}:/etc/caddy:ro`,
      ...(proxyInfo.Config.Entrypoint ? ["--entrypoint", proxyInfo.Config.Entrypoint[0] as string] : []),
      proxyInfo.Image, ...(proxyInfo.Config.Entrypoint?.slice(1) ?? []), ...(proxyInfo.Config.Cmd ?? [])]);
    const ca = (await copyFileFromContainer(caddy, `${CADDY_STORAGE_ROOT}/pki/authorities/local/root.crt`, 30_000)).toString("utf8");
    const endpoint: Endpoint = { port, host: apiHost, hostHeader: `${apiHost}:${port}`, ca };
    const client = connect(endpoint);
    try {
      await waitFor("the baseline Caddy to serve the fixed body over TLS", async () => {
        const reply = await send(client, endpoint, { method: "GET", path: "/healthz" });
        return reply.status === 200 && reply.body === BASELINE_BODY;
      }, 60_000, 250);
    } finally {
      await client.close();
    }
    return { endpoint, containers: { proxy: caddy, server }, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
