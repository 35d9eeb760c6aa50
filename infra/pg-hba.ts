/**
 * Pure renderer of the database's pg_hba.conf: who may connect from where, and how.
 * - TCP only over TLS (`hostssl`): there is no `host` line, so a plaintext connection finds no entry
 *   and is refused.
 * - Only SCRAM-SHA-256, never trust, md5 or password.
 * - The app roles only to the app database and only from the project's internal network.
 * - The superuser over TCP only from the provider's address (the Docker host's gateway on the
 *   internal network) and only with a client certificate for its name signed by the stack CA
 *   (`clientcert=verify-full`) on top of its password, and over the container's own Unix socket by peer identity: the entrypoint's
 *   initialization and the operator's superuser-password rotation (see components/roles.ts) use it,
 *   and only a process already inside the container (uid 999) can reach that socket.
 * - The container's healthcheck (`pg_isready` over TCP on 127.0.0.1) as {@link HEALTH_PROBE}'s
 *   user: without an entry every probe logs FATAL "no pg_hba.conf entry" twice (pg_isready tries TLS
 *   first, then plaintext). With one, the server answers the TLS attempt with its SCRAM challenge,
 *   pg_isready counts that as "accepting connections" and hangs up, and a client leaving at the
 *   password prompt is not logged. The user is `pg_isready`: names starting with `pg_` are reserved,
 *   so no such role can ever be created, and the entry lets nobody in.
 */
import { isIPv4 } from "node:net";

/** Who the database container's healthcheck connects as, and from where (see the header). */
export const HEALTH_PROBE = Object.freeze({ user: "pg_isready", database: "postgres", address: "127.0.0.1" });

/** The database container's healthcheck command: pg_isready over TCP as {@link HEALTH_PROBE}. */
export function healthCheckCommand(port: number): string[] {
  return ["pg_isready", "-q", "-h", HEALTH_PROBE.address, "-p", String(port), "-U", HEALTH_PROBE.user, "-d", HEALTH_PROBE.database];
}

/** What the rules depend on. */
export interface PgHbaInput {
  /** The app database. */
  readonly database: string;
  /** Login roles allowed into the app database (owner, app, readonly). */
  readonly roles: readonly string[];
  /** The cluster's superuser, used only by the Postgres provider. */
  readonly superuser: string;
  /** The internal network's subnet in CIDR form, e.g. `172.20.0.0/16`. */
  readonly subnet: string;
  /** The provider's source address (the host's gateway on the internal network), inside `subnet`. */
  readonly providerAddress: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** Parses `a.b.c.d/n`; throws naming the field when it is not an IPv4 network address. */
function parseSubnet(subnet: string): { base: number; bits: number } {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(subnet);
  const bits = match ? Number(match[2]) : NaN;
  if (!match || !isIPv4(match[1] as string) || bits < 8 || bits > 30) {
    throw new Error(`subnet must be an IPv4 CIDR with a prefix of 8 to 30 bits (for example 172.20.0.0/16), got ${JSON.stringify(subnet)}`);
  }
  const base = ipv4ToInt(match[1] as string);
  const mask = (0xffffffff << (32 - bits)) >>> 0;
  if ((base & mask) >>> 0 !== base) {
    throw new Error(`subnet must be a network address (host bits zero), got ${subnet}`);
  }
  return { base, bits };
}

function inSubnet(ip: string, subnet: { base: number; bits: number }): boolean {
  const mask = (0xffffffff << (32 - subnet.bits)) >>> 0;
  return (ipv4ToInt(ip) & mask) >>> 0 === subnet.base;
}

/** Renders pg_hba.conf; throws with the field, the problem and what is allowed on bad input. */
export function renderPgHba(input: PgHbaInput): string {
  for (const [field, value] of [["database", input.database], ["superuser", input.superuser]] as const) {
    if (!IDENTIFIER.test(value)) {
      throw new Error(`${field} must be a lower-case PostgreSQL identifier, got ${JSON.stringify(value)}`);
    }
  }
  if (input.roles.length === 0 || input.roles.some((role) => !IDENTIFIER.test(role))) {
    throw new Error(`roles must be a non-empty list of lower-case PostgreSQL identifiers, got ${JSON.stringify(input.roles)}`);
  }
  if (input.roles.includes(input.superuser)) {
    throw new Error(`roles must not include the superuser ${input.superuser}: it connects only from the provider's address`);
  }
  const subnet = parseSubnet(input.subnet);
  if (!isIPv4(input.providerAddress) || !inSubnet(input.providerAddress, subnet)) {
    throw new Error(`providerAddress must be an IPv4 address inside ${input.subnet}, got ${JSON.stringify(input.providerAddress)}`);
  }
  const rows: [string, string, string, string, string][] = [
    ["local", "all", input.superuser, "", "peer"],
    ["hostssl", input.database, [...input.roles].sort().join(","), input.subnet, "scram-sha-256"],
    ["hostssl", "all", input.superuser, `${input.providerAddress}/32`, "scram-sha-256 clientcert=verify-full"],
    // Last, so it never shadows the provider's line (tests use 127.0.0.1 as the provider's address).
    ["hostssl", HEALTH_PROBE.database, HEALTH_PROBE.user, `${HEALTH_PROBE.address}/32`, "scram-sha-256"],
  ];
  const header: [string, string, string, string, string] = ["# TYPE", "DATABASE", "USER", "ADDRESS", "METHOD"];
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i]?.length ?? 0)));
  const format = (row: string[]): string =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  return [
    "# Generated by infra/pg-hba.ts; every change goes through the stack.",
    "# hostssl only (plaintext finds no entry), scram-sha-256 only, no trust.",
    format(header),
    ...rows.map(format),
    "",
  ].join("\n");
}
