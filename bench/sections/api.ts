/**
 * Section 2, the API through Caddy over TLS: requests per second and p50/p99 at 32 connections for
 * GET /healthz, an authenticated GET /clients returning 50 rows, and POST /clients, against the
 * same Caddy in front of a minimal Node server (measured before and after, the mean used).
 */
import { randomBytes } from "node:crypto";
import type { Client } from "undici";
import { startBaseline } from "../api/baseline";
import { clientBody, seedClients, type Session } from "../api/session";
import { connect, runLoad, send, type Endpoint, type LoadOptions, type LoadResult } from "../lib/load";
import type { Figure } from "../lib/stats";

/** Load shape of every run of this section. */
export const API_LOAD = Object.freeze({ connections: 32, warmupMs: 2_000, durationMs: 10_000, maxRequests: 60_000 });
/** POST /clients writes rows: fewer of them, removed afterwards. */
export const MAX_CREATES = 4_000;
/** Rows the list returns. */
export const LIST_ROWS = 50;


function describe(r: LoadResult): string {
  return `${r.requests} requests in ${(r.durationMs / 1000).toFixed(1)} s, ${API_LOAD.connections} connections, ${r.errors} errors${r.errorSamples.length ? ` (${r.errorSamples.join("; ")})` : ""}`;
}

function figures(name: string, r: LoadResult, base: { rps: number; p50Ms: number; p99Ms: number }, rpsTarget?: number): Figure[] {
  const baseline = (value: number) => ({ name: "same Caddy + minimal Node server", value });
  return [
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
export async function benchApi(endpoint: Endpoint, staff: Session, containers: { proxy: string; api: string }, created: string[], log: (line: string) => void): Promise<Figure[]> {
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
  const load = (overrides: Partial<LoadOptions> & Pick<LoadOptions, "request">): LoadOptions => ({ ...API_LOAD, expectStatus: 200, ...overrides });
  const baseline = await startBaseline(containers.proxy, containers.api, endpoint.host);
  try {
    log("  baseline (before)");
    const before = checked("baseline", await runLoad(baseline.endpoint, load({ request: () => ({ method: "GET", path: "/healthz" }) })));
    log("  GET /healthz");
    const health = checked("GET /healthz", await runLoad(endpoint, load({ request: () => ({ method: "GET", path: "/healthz" }) })));
    log(`  GET /clients?pageSize=${LIST_ROWS}`);
    const list = checked("GET /clients", await runLoad(endpoint, load({ request: () => ({ method: "GET", path: `/clients?pageSize=${LIST_ROWS}`, headers: auth }) })));
    log("  POST /clients");
    const create = checked(
      "POST /clients",
      await runLoad(
        endpoint,
        load({
          maxRequests: MAX_CREATES,
          warmupMs: 0,
          expectStatus: 201,
          request: (n) => ({ method: "POST", path: "/clients", headers: auth, body: clientBody(run, n) }),
          onBody: (body) => created.push(String((JSON.parse(body) as { id: string }).id)),
        }),
      ),
    );
    log("  baseline (after)");
    const after = checked("baseline", await runLoad(baseline.endpoint, load({ request: () => ({ method: "GET", path: "/healthz" }) })));
    const base = { rps: (before.rps + after.rps) / 2, p50Ms: (before.p50Ms + after.p50Ms) / 2, p99Ms: (before.p99Ms + after.p99Ms) / 2 };
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
