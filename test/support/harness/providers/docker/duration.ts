/** Go's time.ParseDuration, which the docker provider applies to healthcheck durations. */

const UNITS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Nanoseconds for a Go duration such as "10s", "1m30s" or "250ms"; undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const m = /^([0-9]*\.?[0-9]+(?:ns|us|µs|ms|s|m|h))+$/.exec(text);
  if (m === null) return undefined;
  let total = 0;
  for (const part of text.matchAll(/([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (UNITS[part[2] as string] as number);
  }
  return Math.round(total);
}
