/**
 * Section 2, the API through Caddy over TLS: requests per second and p50/p99 at 32 connections for
 * GET /healthz, an authenticated GET /clients returning 50 rows, and POST /clients, against the
 * same Caddy in front of a minimal Node server (measured before and after, the mean used).
 */
import { randomBytes } from "node:crypto";
import type { Client } from "undici";
import { startBaseline } from "../api/baseline";
import { clientBody, seedClients, type Session } from "../api/session";
import { inspect, type ContainerInfo } from "../lib/dockerObjects";
import { connect, runLoad, send, type Endpoint, type LoadOptions, type LoadResult } from "../lib/load";
import { cpuReader } from "../lib/memory";
import type { Figure } from "../lib/stats";

/** Load shape of every run of this section. */
export const API_LOAD = Object.freeze({ connections: 32, warmupMs: 2_000, durationMs: 10_000, maxRequests: 60_000 });
/** POST /clients writes rows: fewer of them, removed afterwards. */
export const MAX_CREATES = 4_000;
/** Rows the list returns. */
export const LIST_ROWS = 50;


/** A load result with the CPU each container of the path used during the measured phase. */
interface Measured extends LoadResult {
  /** Container label → CPU milliseconds per request. */
  readonly cpuMsPerRequest: Readonly<Record<string, number>>;
}

/**
 * CPU accounting for a set of containers: the request path's cost per request, which stays
 * comparable when other work on the machine takes CPU away and moves the throughput figures.
 */
async function cpuMeter(containers: Readonly<Record<string, string>>): Promise<{ onMeasured: NonNullable<LoadOptions["onMeasured"]>; perRequest(requests: number): Record<string, number> }> {
  const readers: [string, () => number][] = [];
  for (const [label, name] of Object.entries(containers)) readers.push([label, cpuReader((await inspect<ContainerInfo>(name)).Id)]);
  let start: number[] = [];
  let end: number[] = [];
  return {
    onMeasured: { start: () => (start = readers.map(([, read]) => read())), end: () => (end = readers.map(([, read]) => read())) },
    perRequest: (requests) => Object.fromEntries(readers.map(([label], i) => [label, ((end[i] ?? 0) - (start[i] ?? 0)) / 1e6 / requests])),
  };
}

function describe(r: LoadResult): string {
  return `${r.requests} requests in ${(r.durationMs / 1000).toFixed(1)} s, ${API_LOAD.connections} connections, ${r.errors} errors${r.errorSamples.length ? ` (${r.errorSamples.join("; ")})` : ""}`;
}

const sum = (o: Readonly<Record<string, number>>): number => Object.values(o).reduce((a, b) => a + b, 0);
const breakdown = (o: Readonly<Record<string, number>>): string => Object.entries(o).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");

function figures(name: string, r: Measured, base: { rps: number; p50Ms: number; p99Ms: number; cpuMsPerRequest: Readonly<Record<string, number>> }, rpsTarget?: number): Figure[] {
  const baseline = (value: number) => ({ name: "same Caddy + minimal Node server", value });
  return [
    { section: "api", name: `${name} CPU per request, whole path`, value: sum(r.cpuMsPerRequest), unit: "ms", baseline: baseline(sum(base.cpuMsPerRequest)), note: `${breakdown(r.cpuMsPerRequest)} ms; baseline ${breakdown(base.cpuMsPerRequest)} ms` },
    { section: "api", name: `${name} throughput`, value: r.rps, unit: "req/s", baseline: baseline(base.rps), ...(rpsTarget ? { target: { kind: "ratioAtLeast", limit: rpsTarget } as const } : {}), note: describe(r) },
    { section: "api", name: `${name} p50`, value: r.p50Ms, unit: "ms", baseline: baseline(base.p50Ms) },
    { section: "api", name: `${name} p99`, value: r.p99Ms, unit: "ms", baseline: baseline(base.p99Ms), target: { kind: "valueAtMost", limit: 50 } },
  ];
}

/** Fails the run when a load produced errors: its figures would describe error pages. */
function checked(what: string, r: LoadResult): LoadResult {
  if (r.errors > r.requests * 0.01) throw new Error(`${what}: ${r.errors} of ${r.requests} requests failed (${r.errorSamples.join("; ")})`);
  return r;
}

/**
 * Runs the section against `endpoint` (the deployed stack) as `staff`, with the baseline built from
 * the deployed `proxy` and `api` containers. Seeds `LIST_ROWS` clients first; every client it
 * creates is pushed onto `created` as it goes, so the caller can remove them whatever happens.
 */
export async function benchApi(endpoint: Endpoint, staff: Session, containers: { proxy: string; api: string; db: string }, created: string[], log: (line: string) => void): Promise<Figure[]> {
  const run = randomBytes(3).toString("hex");
  const client: Client = connect(endpoint);
  try {
    created.push(...(await seedClients(client, endpoint, staff, run, LIST_ROWS)));
    const page = await send(client, endpoint, { method: "GET", path: `/clients?pageSize=${LIST_ROWS}`, headers: { authorization: `Bearer ${staff.token}` } });
    const items = (JSON.parse(page.body) as { items?: unknown[] }).items ?? [];
    if (page.status !== 200 || items.length !== LIST_ROWS) throw new Error(`GET /clients?pageSize=${LIST_ROWS} returned HTTP ${page.status} with ${items.length} rows, not ${LIST_ROWS}`);
  } finally {
    await client.close();
  }

  const auth = { authorization: `Bearer ${staff.token}` };
  const baseline = await startBaseline(containers.proxy, containers.api, endpoint.host);
  try {
    const stackCpu = { Caddy: containers.proxy, API: containers.api, Postgres: containers.db };
    const baselineCpu = { Caddy: baseline.containers.proxy, server: baseline.containers.server };
    const measure = async (what: string, target: Endpoint, meter: Readonly<Record<string, string>>, overrides: Partial<LoadOptions> & Pick<LoadOptions, "request">): Promise<Measured> => {
      log(`  ${what}`);
      const cpu = await cpuMeter(meter);
      const result = checked(what, await runLoad(target, { ...API_LOAD, expectStatus: 200, ...overrides, onMeasured: cpu.onMeasured }));
      return { ...result, cpuMsPerRequest: cpu.perRequest(result.requests) };
    };
    const healthz = { request: () => ({ method: "GET" as const, path: "/healthz" }) };
    const before = await measure("baseline (before)", baseline.endpoint, baselineCpu, healthz);
    const health = await measure("GET /healthz", endpoint, stackCpu, healthz);
    const list = await measure(`GET /clients?pageSize=${LIST_ROWS}`, endpoint, stackCpu, { request: () => ({ method: "GET", path: `/clients?pageSize=${LIST_ROWS}`, headers: auth }) });
    const create = await measure("POST /clients", endpoint, stackCpu, {
      maxRequests: MAX_CREATES,
      warmupMs: 0,
      expectStatus: 201,
      request: (n) => ({ method: "POST", path: "/clients", headers: auth, body: clientBody(run, n) }),
      onBody: (body) => created.push(String((JSON.parse(body) as { id: string }).id)),
    });
    const after = await measure("baseline (after)", baseline.endpoint, baselineCpu, healthz);
    const mean = (f: (m: Measured) => number): number => (f(before) + f(after)) / 2;
    const base = {
      rps: mean((m) => m.rps),
      p50Ms: mean((m) => m.p50Ms),
      p99Ms: mean((m) => m.p99Ms),
      cpuMsPerRequest: Object.fromEntries(Object.keys(baselineCpu).map((k) => [k, mean((m) => m.cpuMsPerRequest[k] ?? 0)])),
    };
    log(`  baseline runs: ${before.rps.toFixed(0)} and ${after.rps.toFixed(0)} req/s (mean used)`);
    return [
      ...figures("GET /healthz", health, base),
      ...figures(`GET /clients (${LIST_ROWS} rows, authenticated)`, list, base, 0.5),
      ...figures("POST /clients (authenticated)", create, base),
    ];
  } finally {
    await baseline.stop();
  }
}
