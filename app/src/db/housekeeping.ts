import type { Db } from "../context";

/** Rows removed by one housekeeping pass, per table. */
export interface Purged {
  readonly sessions: number;
  readonly webhookInbound: number;
  readonly loginThrottle: number;
}

/**
 * Deletes rows that can no longer matter: sessions a day past expiry (their tokens died long
 * before), inbound delivery ids a day old (their signed timestamps are far outside the 300 s
 * window, so a replay fails on the timestamp anyway), and failure streaks that have reset.
 * The audit log is never touched.
 */
export async function purgeExpired(db: Db): Promise<Purged> {
  const sessions = await db.query("DELETE FROM sessions WHERE expires_at < now() - interval '1 day'");
  const inbound = await db.query("DELETE FROM webhook_inbound WHERE received_at < now() - interval '1 day'");
  const throttle = await db.query("DELETE FROM login_throttle WHERE last_failure_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now())");
  return { sessions: sessions.rowCount ?? 0, webhookInbound: inbound.rowCount ?? 0, loginThrottle: throttle.rowCount ?? 0 };
}
