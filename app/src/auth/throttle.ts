import { createHmac } from "node:crypto";
import type { Db } from "../context";

/** Failures allowed before an account starts to back off. */
export const FREE_FAILURES = 3;
/** Longest an account waits between attempts. */
export const MAX_BACKOFF_SECONDS = 900;
/** A failure streak older than this is forgotten. */
const STREAK_RESET_SECONDS = 3600;

/** Delay after the n-th consecutive failure: doubling from 5 s once the free failures are used. */
export function backoffSeconds(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(MAX_BACKOFF_SECONDS, 5 * 2 ** (failures - FREE_FAILURES));
}

/** Keyed hash of the normalized email: throttles unknown addresses alike and stores none in clear. */
export function accountKey(secretKey: Uint8Array, email: string): string {
  return createHmac("sha256", secretKey).update(email.trim().toLowerCase()).digest("hex");
}

/** Seconds the account must still wait, or 0. */
export async function lockedFor(db: Db, key: string): Promise<number> {
  const { rows } = await db.query<{ wait: string | null }>(
    "SELECT ceil(extract(epoch FROM locked_until - now()))::text AS wait FROM login_throttle WHERE account_key = $1 AND locked_until > now()",
    [key],
  );
  return rows[0]?.wait ? Math.max(1, Number(rows[0].wait)) : 0;
}

/** Counts a failed attempt and sets the next lock. */
export async function recordFailure(db: Db, key: string): Promise<void> {
  const { rows } = await db.query<{ failures: number }>(
    `INSERT INTO login_throttle AS t (account_key, failures, last_failure_at) VALUES ($1, 1, now())
     ON CONFLICT (account_key) DO UPDATE SET
       failures = CASE WHEN t.last_failure_at < now() - make_interval(secs => $2) THEN 1 ELSE t.failures + 1 END,
       last_failure_at = now()
     RETURNING failures`,
    [key, STREAK_RESET_SECONDS],
  );
  const wait = backoffSeconds(rows[0]?.failures ?? 1);
  if (wait > 0) {
    await db.query("UPDATE login_throttle SET locked_until = now() + make_interval(secs => $2) WHERE account_key = $1", [key, wait]);
  }
}

/** Forgets the failure streak after a successful login. */
export async function recordSuccess(db: Db, key: string): Promise<void> {
  await db.query("DELETE FROM login_throttle WHERE account_key = $1", [key]);
}
