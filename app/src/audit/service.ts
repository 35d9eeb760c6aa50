import type { Request } from "express";
import type { Logger } from "pino";
import type { Db } from "../context";

/** Every action the app writes to the audit log; `GET /audit?action=` accepts only these. */
export const AUDIT_ACTIONS = [
  "access.denied",
  "auth.login",
  "auth.logout",
  "auth.password_change",
  "checkin.created",
  "client.created",
  "client.deleted",
  "client.updated",
  "sessions.revoked",
  "sessions.revoked_all",
  "user.created",
  "user.deleted",
  "user.disabled",
  "user.enabled",
  "user.password_reset",
  "user.updated",
  "webhook.replayed",
] as const;

/** One of the audited actions. */
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** One audit event. `details` must never hold a secret, password or token. */
export interface AuditEvent {
  // Typed as the enum so a new action cannot be written without becoming filterable.
  readonly action: AuditAction;
  readonly outcome: "success" | "failure" | "denied";
  readonly actorId?: string | null;
  readonly actorEmail?: string | null;
  readonly targetType?: string;
  readonly targetId?: string;
  readonly ip?: string | undefined;
  readonly details?: Record<string, unknown>;
}

/** Who acted, from an authenticated request (or nobody). */
export function actorOf(req: Request): Pick<AuditEvent, "actorId" | "actorEmail" | "ip"> {
  return { actorId: req.auth?.userId ?? null, actorEmail: req.auth?.email ?? null, ip: req.ip };
}

/** Appends an event to the audit table and writes it to the structured log. */
export async function recordAudit(db: Db, logger: Logger, event: AuditEvent): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (action, outcome, actor_id, actor_email, target_type, target_id, ip, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [event.action, event.outcome, event.actorId ?? null, event.actorEmail ?? null, event.targetType ?? null, event.targetId ?? null, event.ip ?? null, JSON.stringify(event.details ?? {})],
  );
  logger.info({ audit: { ...event } }, `audit ${event.action} ${event.outcome}`);
}
