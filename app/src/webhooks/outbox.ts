import { createHash } from "node:crypto";
import type { Db } from "../context";

/** Events the CRM publishes to the configured outbound URLs. */
export type OutboundEvent = "client.created" | "client.updated" | "checkin.created";

const REF_PREFIX = "sha256:";

/**
 * The stable reference stored in `outbox.target_url` instead of the receiver URL: a Zapier
 * catch-hook URL carries its token in the path, so the URL itself is a secret that must not sit in
 * a table every backup and the readonly role can read.
 */
export function targetRefOf(url: string): string {
  return REF_PREFIX + createHash("sha256").update(url, "utf8").digest("hex").slice(0, 16);
}

/**
 * The configured URL a stored target names: a reference, or (rows written by older versions) the
 * full URL itself. Undefined when that receiver is no longer configured.
 */
export function resolveTarget(stored: string, urls: readonly string[]): string | undefined {
  return urls.find((url) => url === stored || targetRefOf(url) === stored);
}

/** What the API shows of a stored target: its reference and the receiver's host, never path or query. */
export function describeTarget(stored: string, urls: readonly string[]): { targetRef: string; targetHost: string | null } {
  const isRef = stored.startsWith(REF_PREFIX);
  const url = resolveTarget(stored, urls) ?? (isRef ? undefined : stored);
  let host: string | null = null;
  try {
    host = url === undefined ? null : new URL(url).host;
  } catch {
    host = null;
  }
  return { targetRef: isRef ? stored : targetRefOf(stored), targetHost: host };
}

/**
 * Queues one delivery per configured URL in the caller's transaction, so an event is stored
 * exactly when the change it describes commits. Only the URL's reference is stored.
 */
export async function enqueueEvent(db: Db, urls: readonly string[], event: OutboundEvent, data: unknown): Promise<void> {
  for (const url of urls) {
    await db.query("INSERT INTO outbox (event, payload, target_url) VALUES ($1, $2, $3)", [event, JSON.stringify({ event, data }), targetRefOf(url)]);
  }
}

/**
 * Replaces full URLs left by older versions with their references (same SHA-256 prefix as
 * `targetRefOf`), so they leave the table and later backups. Returns how many rows changed.
 */
export async function redactLegacyTargets(db: Db): Promise<number> {
  const result = await db.query(
    `UPDATE outbox SET target_url = '${REF_PREFIX}' || left(encode(sha256(convert_to(target_url, 'UTF8')), 'hex'), 16)
     WHERE target_url NOT LIKE '${REF_PREFIX}%'`,
  );
  return result.rowCount ?? 0;
}
