import type { Db } from "../context";
import type { AuthContext, Role } from "./types";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a canonical UUID string (checked before any id reaches SQL as a uuid). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Opens a server-side session; the token names it so it can be revoked before it expires. */
export async function createSession(db: Db, userId: string, ttlSeconds: number): Promise<{ id: string; expiresAt: Date }> {
  const { rows } = await db.query<{ id: string; expires_at: Date }>(
    "INSERT INTO sessions (user_id, expires_at) VALUES ($1, now() + make_interval(secs => $2)) RETURNING id, expires_at",
    [userId, ttlSeconds],
  );
  const row = rows[0];
  if (!row) throw new Error("session insert returned no row");
  return { id: row.id, expiresAt: row.expires_at };
}

/**
 * Session and user in one query, run on every authenticated request and never cached, so a revoked
 * session or disabled user fails at once. Named, so each pooled connection parses and plans it once
 * instead of on every request.
 */
const ACTIVE_SESSION = {
  name: "auth.active-session",
  text: `SELECT u.email, u.role, u.must_change_password FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now() AND NOT u.disabled`,
};

/** Loads the caller if the session is live and the user enabled; undefined otherwise. */
export async function loadActiveSession(db: Db, userId: string, sessionId: string): Promise<AuthContext | undefined> {
  if (!isUuid(userId) || !isUuid(sessionId)) return undefined;
  const { rows } = await db.query<{ email: string; role: Role; must_change_password: boolean }>({ ...ACTIVE_SESSION, values: [sessionId, userId] });
  const row = rows[0];
  return row ? { userId, sessionId, email: row.email, role: row.role, mustChangePassword: row.must_change_password } : undefined;
}

/** Revokes one session (logout). */
export async function revokeSession(db: Db, sessionId: string, reason: string): Promise<void> {
  await db.query("UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL", [sessionId, reason]);
}

/** Revokes every live session of one user; returns how many. */
export async function revokeUserSessions(db: Db, userId: string, reason: string): Promise<number> {
  const result = await db.query("UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL", [userId, reason]);
  return result.rowCount ?? 0;
}

/** Revokes every live session of every user (incident response); returns how many. */
export async function revokeAllSessions(db: Db, reason: string): Promise<number> {
  const result = await db.query("UPDATE sessions SET revoked_at = now(), revoked_reason = $1 WHERE revoked_at IS NULL", [reason]);
  return result.rowCount ?? 0;
}
