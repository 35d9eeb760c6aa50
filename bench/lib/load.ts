/**
 * Closed-loop HTTPS load over keep-alive connections, with certificate verification on.
 *
 * autocannon (installed) hard-codes `rejectUnauthorized: false` on its TLS connections
 * (node_modules/autocannon/lib/httpClient.js) and wrk never verifies, so neither can drive the
 * load while trusting only Caddy's root CA. This drives it with undici's Client (npm): one
 * HTTP/1.1 connection per Client, one request in flight per connection, latency taken from
 * sending the request to reading the whole body.
 */
import { performance } from "node:perf_hooks";
import { Client, type Dispatcher } from "undici";
import { percentile } from "./stats";

/** Where to send the load: a TLS endpoint on 127.0.0.1 that serves `host` with a cert from `ca`. */
export interface Endpoint {
  /** Port on 127.0.0.1. */
  readonly port: number;
  /** Server name for SNI, certificate verification and the Host header. */
  readonly host: string;
  /** Value of the Host header (host, with the port when it is not 443). */
  readonly hostHeader: string;
  /** PEM of the only CA trusted. */
  readonly ca: string;
}

/** One request of a load run. `n` counts requests of the run from 0, across connections. */
export interface RequestSpec {
  readonly method: Dispatcher.HttpMethod;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** Options of {@link runLoad}. */
export interface LoadOptions {
  readonly connections: number;
  /** Measured phase: stops at whichever comes first. */
  readonly durationMs: number;
  readonly maxRequests: number;
  /** Unmeasured phase first, same request mix (0: none). */
  readonly warmupMs: number;
  /** Status every response must have; anything else counts as an error. */
  readonly expectStatus: number;
  readonly request: (n: number) => RequestSpec;
  /** Called with each measured response body (e.g. to collect created ids). */
  readonly onBody?: (body: string) => void;
  /** Called right before and right after the measured phase (e.g. to read CPU counters). */
  readonly onMeasured?: { readonly start: () => void; readonly end: () => void };
}

/** What a load run measured. */
export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  /** First few error descriptions, for the report. */
  readonly errorSamples: readonly string[];
  readonly durationMs: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * A keep-alive client to the endpoint; callers close it. undici takes the TLS server name from
 * each request's Host header, so a Host naming another server would switch SNI and verification to
 * that name: refused here instead.
 */
export function connect(endpoint: Endpoint): Client {
  const hostHeaderName = endpoint.hostHeader.replace(/:\d+$/, "");
  if (hostHeaderName !== endpoint.host) throw new Error(`the Host header ${endpoint.hostHeader} must name the server ${endpoint.host}`);
  return new Client(`https://127.0.0.1:${endpoint.port}`, {
    connect: { ca: endpoint.ca, servername: endpoint.host, rejectUnauthorized: true },
    pipelining: 1,
    keepAliveTimeout: 30_000,
  });
}

/** Sends one request and reads the whole body. */
export async function send(client: Client, endpoint: Endpoint, spec: RequestSpec): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const response = await client.request({
    method: spec.method,
    path: spec.path,
    headers: { host: endpoint.hostHeader, ...(spec.body !== undefined ? { "content-type": "application/json" } : {}), ...spec.headers },
    body: spec.body,
  });
  return { status: response.statusCode, body: await response.body.text(), headers: response.headers };
}

/** Runs the load: `connections` loops, each sending its next request when the last one finished. */
export async function runLoad(endpoint: Endpoint, options: LoadOptions): Promise<LoadResult> {
  const clients = Array.from({ length: options.connections }, () => connect(endpoint));
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let issued = 0;
  try {
    const phase = async (ms: number, measured: boolean): Promise<number> => {
      const started = performance.now();
      const deadline = started + ms;
      const loop = async (client: Client): Promise<void> => {
        while (performance.now() < deadline && (!measured || issued < options.maxRequests)) {
          const spec = options.request(measured ? issued++ : 0);
          const t0 = performance.now();
          try {
            const reply = await send(client, endpoint, spec);
            if (!measured) continue;
            latencies.push(performance.now() - t0);
            if (reply.status !== options.expectStatus) {
              errors += 1;
              if (errorSamples.length < 3) errorSamples.push(`${spec.method} ${spec.path} -> ${reply.status} ${reply.body.slice(0, 160)}`);
            } else {
              options.onBody?.(reply.body);
            }
          } catch (e) {
            if (!measured) continue;
            errors += 1;
            if (errorSamples.length < 3) errorSamples.push(`${spec.method} ${spec.path} -> ${e instanceof Error ? e.message : String(e)}`);
          }
        }
      };
      await Promise.all(clients.map(loop));
      return performance.now() - started;
    };
    if (options.warmupMs > 0) await phase(options.warmupMs, false);
    options.onMeasured?.start();
    const durationMs = await phase(options.durationMs, true);
    options.onMeasured?.end();
    if (latencies.length === 0) throw new Error(`no request completed against 127.0.0.1:${endpoint.port} (${endpoint.host})`);
    return {
      requests: latencies.length,
      errors,
      errorSamples,
      durationMs,
      rps: (latencies.length / durationMs) * 1000,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
}
