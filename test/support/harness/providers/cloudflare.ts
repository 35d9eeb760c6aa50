/**
 * Cloudflare resources cannot be materialized: the Cloudflare API is not reachable from here. The
 * mock tests cover the DNS component; a live deploy with a zone configured fails with this message.
 */
import type { Materializer } from "../types";

/** Accepts every field name, so the refusal below is the error a program meets. */
class AnyField extends Set<string> {
  override has(): boolean {
    return true;
  }
}

function refuse(type: string): Materializer {
  const fail = (): never => {
    throw new Error(`harness: ${type} cannot be materialized: the Cloudflare API is not reachable from this machine (leave krc:cloudflareZoneId empty for a live deploy)`);
  };
  return { type, inputs: new AnyField(), updatable: new Set(), validate: fail, create: async () => fail(), delete: async () => fail() };
}

/** The Cloudflare types the program may register. */
export const cloudflare: readonly Materializer[] = ["cloudflare:index/dnsRecord:DnsRecord", "cloudflare:index/zoneSetting:ZoneSetting", "cloudflare:index/record:Record"].map(refuse);
