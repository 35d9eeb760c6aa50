/**
 * Pure planning of the Cloudflare records and zone settings for the stack's hostnames. The Dns
 * component turns each planned entry into one resource; tests check the plan as plain data.
 */
import * as net from "node:net";
import { LETS_ENCRYPT_PRODUCTION, LETS_ENCRYPT_STAGING } from "./caddyfile";

/** What the plan depends on, from the validated stack config. */
export interface DnsPlanInput {
  /** Hostnames that point at the server (the API and kiosk hosts). */
  readonly hostnames: readonly string[];
  /** The server's public IPv4 address. */
  readonly publicIpv4: string;
  /** The server's public IPv6 address; unset or empty: no AAAA records. */
  readonly publicIpv6?: string;
  /** How Caddy gets certificates; `internal` means no public CA may issue for these names. */
  readonly tls: "internal" | "acme";
  /** The ACME directory Caddy uses (decides the CAA issuer). */
  readonly acmeCa?: string;
  /** CAA issuer domain for an ACME CA this module does not know; overrides the lookup. */
  readonly caaIssuer?: string;
  /** Where CAs report refused or suspicious requests (CAA iodef). */
  readonly iodefEmail: string;
  /** Route the A/AAAA records through Cloudflare's proxy instead of DNS-only. */
  readonly proxied: boolean;
  /** Manage the zone's hardening settings (minimum TLS 1.2; always HTTPS when DNS-only). */
  readonly manageZoneSettings: boolean;
}

/** One record to create, in the shape of `cloudflare.DnsRecord` inputs (zone id added later). */
export interface PlannedRecord {
  /** Stable, unique suffix for the resource name. */
  readonly key: string;
  readonly name: string;
  readonly type: "A" | "AAAA" | "CAA";
  readonly ttl: number;
  readonly proxied?: boolean;
  readonly content?: string;
  readonly data?: { readonly flags: number; readonly tag: "issue" | "issuewild" | "iodef"; readonly value: string };
}

/** One zone setting to manage, in the shape of `cloudflare.ZoneSetting` inputs. */
export interface PlannedZoneSetting {
  readonly settingId: "min_tls_version" | "always_use_https" | "ssl";
  readonly value: string;
}

export interface DnsPlan {
  readonly records: readonly PlannedRecord[];
  readonly zoneSettings: readonly PlannedZoneSetting[];
}

/** Cloudflare's "automatic" TTL; the only TTL a proxied record may have. */
export const TTL_AUTO = 1;
/** DNS-only address records: short enough to move the server within minutes. */
export const ADDRESS_TTL_SECONDS = 300;
/** CAA records change rarely. */
export const CAA_TTL_SECONDS = 3600;

/** CAA issuer domains of well-known ACME directories (each CA's documented CAA identifier). */
export const CAA_ISSUERS: Readonly<Record<string, string>> = Object.freeze({
  [LETS_ENCRYPT_PRODUCTION]: "letsencrypt.org",
  [LETS_ENCRYPT_STAGING]: "letsencrypt.org",
  "https://acme.zerossl.com/v2/DV90": "sectigo.com",
  "https://dv.acme-v02.api.pki.goog/directory": "pki.goog",
  "https://dv.acme-v02.test-api.pki.goog/directory": "pki.goog",
});

/**
 * Plans the records: per hostname an A (and AAAA) record, and CAA records that allow only the CA in
 * use (no public CA at all with the internal CA), forbid wildcards, and name an iodef contact.
 * CAA sits on each hostname rather than the apex so other names in the zone keep their own CAs.
 * @throws Error naming the field when a value is invalid.
 */
export function planDns(input: DnsPlanInput): DnsPlan {
  const issuer = validate(input);
  const ipv6 = input.publicIpv6 === undefined || input.publicIpv6 === "" ? undefined : input.publicIpv6;
  const address = { ttl: input.proxied ? TTL_AUTO : ADDRESS_TTL_SECONDS, proxied: input.proxied };
  const records: PlannedRecord[] = [];
  for (const name of input.hostnames) {
    records.push({ key: `${name}-A`, name, type: "A", content: input.publicIpv4, ...address });
    if (ipv6 !== undefined) records.push({ key: `${name}-AAAA`, name, type: "AAAA", content: ipv6, ...address });
    const caa = (tag: "issue" | "issuewild" | "iodef", value: string): PlannedRecord => ({
      key: `${name}-CAA-${tag}`,
      name,
      type: "CAA",
      ttl: CAA_TTL_SECONDS,
      data: { flags: 0, tag, value },
    });
    // ";" is the RFC 8659 value for "no CA may issue".
    records.push(caa("issue", issuer ?? ";"), caa("issuewild", ";"), caa("iodef", `mailto:${input.iodefEmail}`));
  }
  return { records, zoneSettings: planZoneSettings(input) };
}

function planZoneSettings(input: DnsPlanInput): PlannedZoneSetting[] {
  const settings: PlannedZoneSetting[] = [];
  // Proxied traffic must reach the origin over HTTPS with a validated certificate; "flexible"
  // would send it as plain HTTP, which Caddy answers with a redirect loop.
  if (input.proxied) settings.push({ settingId: "ssl", value: "strict" });
  if (input.manageZoneSettings) {
    settings.push({ settingId: "min_tls_version", value: "1.2" });
    // When proxied, Caddy's own 308 still reaches the client, and leaving Cloudflare's redirect off
    // lets the ACME HTTP-01 challenge pass through on port 80 to Caddy, even for the first
    // certificate (when the origin has no valid certificate yet, strict mode could not connect).
    if (!input.proxied) settings.push({ settingId: "always_use_https", value: "on" });
  }
  return settings;
}

/** The CAA issuer domain for an ACME directory URL, or undefined if unknown. */
export function caaIssuerFor(acmeCa: string): string | undefined {
  return CAA_ISSUERS[acmeCa];
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const EMAIL = /^[^\s@";]+@[a-z0-9.-]+\.[a-z]{2,}$/i;

/** Returns the CAA issuer domain (undefined with the internal CA). */
function validate(input: DnsPlanInput): string | undefined {
  const fail = (field: string, problem: string): never => {
    throw new Error(`planDns: ${field} ${problem}`);
  };
  if (input.hostnames.length === 0) fail("hostnames", "is empty; allowed: one or more hostnames");
  for (const name of input.hostnames) {
    if (!HOSTNAME.test(name)) fail("hostnames", `${JSON.stringify(name)} is not a lowercase fully qualified hostname`);
  }
  if (new Set(input.hostnames).size !== input.hostnames.length) fail("hostnames", "contains a hostname twice");
  if (!net.isIPv4(input.publicIpv4)) fail("publicIpv4", `${JSON.stringify(input.publicIpv4)} is not an IPv4 address`);
  if (input.publicIpv6 !== undefined && input.publicIpv6 !== "" && !net.isIPv6(input.publicIpv6)) {
    fail("publicIpv6", `${JSON.stringify(input.publicIpv6)} is not an IPv6 address (leave it empty for no AAAA records)`);
  }
  if (!EMAIL.test(input.iodefEmail)) fail("iodefEmail", `${JSON.stringify(input.iodefEmail)} is not an email address`);
  if (input.tls === "internal") return undefined;
  if (input.caaIssuer !== undefined) {
    if (!HOSTNAME.test(input.caaIssuer)) fail("caaIssuer", `${JSON.stringify(input.caaIssuer)} is not a CA domain such as letsencrypt.org`);
    return input.caaIssuer;
  }
  const issuer = input.acmeCa === undefined ? undefined : caaIssuerFor(input.acmeCa);
  if (issuer === undefined) {
    return fail(
      "acmeCa",
      `${JSON.stringify(input.acmeCa)} has no known CAA issuer; allowed: ${Object.keys(CAA_ISSUERS).join(", ")}, or set caaIssuer to the CA's CAA domain`,
    );
  }
  return issuer;
}
