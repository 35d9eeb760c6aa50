import type { Db } from "../context";

/** Events the CRM publishes to the configured outbound URLs. */
export type OutboundEvent = "client.created" | "client.updated" | "checkin.created";

/**
 * Queues one delivery per configured URL in the caller's transaction, so an event is stored
 * exactly when the change it describes commits.
 */
export async function enqueueEvent(db: Db, urls: readonly string[], event: OutboundEvent, data: unknown): Promise<void> {
  for (const url of urls) {
    await db.query("INSERT INTO outbox (event, payload, target_url) VALUES ($1, $2, $3)", [event, JSON.stringify({ event, data }), url]);
  }
}
