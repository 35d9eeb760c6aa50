/**
 * Part of section 3: the deployed API container's peak memory against its limit, sampled from its
 * cgroup (as `docker stats` computes it) during the API load and during a burst of concurrent
 * logins through Caddy, of which the login limiter lets its per-address budget through.
 */
import { connect, send, type Endpoint } from "../lib/load";
import { memoryReader, samplePeak } from "../lib/memory";
import { inspect, type ContainerInfo } from "../lib/dockerObjects";
import { mib, type Figure } from "../lib/stats";
import { LOGIN_CLIENTS } from "./login";

/** Samples the API container's memory while `work` runs; returns its idle use, the peak and the limit. */
export async function withMemoryPeak<T>(api: string, work: () => Promise<T>): Promise<{ result: T; idle: number; peak: number; limit: number }> {
  const info = await inspect<ContainerInfo>(api);
  const read = memoryReader(info.Id);
  const idle = read();
  const sampler = samplePeak(read);
  try {
    const result = await work();
    return { result, idle, peak: sampler.stop(), limit: info.HostConfig.Memory };
  } finally {
    sampler.stop();
  }
}

/** Sends {@link LOGIN_CLIENTS} concurrent logins through Caddy; returns how many were let through. */
export async function loginBurst(endpoint: Endpoint, email: string, password: string): Promise<{ ok: number; limited: number }> {
  const clients = Array.from({ length: LOGIN_CLIENTS }, () => connect(endpoint));
  try {
    const replies = await Promise.all(clients.map((c) => send(c, endpoint, { method: "POST", path: "/auth/login", body: JSON.stringify({ email, password }) })));
    const other = replies.filter((r) => r.status !== 200 && r.status !== 429);
    if (other.length > 0) throw new Error(`login burst: unexpected HTTP ${other.map((r) => r.status).join(", ")}`);
    return { ok: replies.filter((r) => r.status === 200).length, limited: replies.filter((r) => r.status === 429).length };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

/** Figures of the API container's memory: peak under load, against idle (baseline) and the limit (target). */
export function memoryFigures(name: string, m: { idle: number; peak: number; limit: number }, note: string): Figure {
  return {
    section: "login",
    name,
    value: mib(m.peak),
    unit: "MiB",
    baseline: { name: "same container idle, just before", value: mib(m.idle) },
    ...(m.limit > 0 ? { target: { kind: "valueAtMost", limit: mib(m.limit) } as const } : {}),
    note: `${m.limit > 0 ? `limit ${mib(m.limit).toFixed(0)} MiB` : "no memory limit"}; ${note}`,
  };
}
