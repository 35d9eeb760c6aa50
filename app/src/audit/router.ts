import { Router } from "express";
import { z } from "zod";
import { requireAuth } from "../auth/middleware";
import type { AppDeps } from "../context";
import { AUDIT_ACTIONS } from "./service";
import { pagingFields, text } from "../http/schemas";
import { parseOrThrow } from "../http/validate";

const auditQuery = z
  .strictObject({
    ...pagingFields,
    action: z.enum(AUDIT_ACTIONS, { message: `must be one of: ${AUDIT_ACTIONS.join(", ")}` }).optional(),
    outcome: z.enum(["success", "failure", "denied"]).optional(),
    actorId: z.uuid({ message: "must be a UUID" }).optional(),
    actorEmail: text(1, 254).optional(),
    targetId: text(1, 64).optional(),
    from: z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time" }).optional(),
    to: z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time" }).optional(),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to || new Date(q.from) <= new Date(q.to), { message: "from must not be after to", path: ["from"] });

/** GET /audit: admins read the append-only audit log with filters and paging, newest first. */
export function auditRouter(deps: AppDeps): Router {
  const { pool } = deps;
  const router = Router();
  router.get("/audit", requireAuth(deps, { roles: ["admin"] }), async (req, res) => {
    const q = parseOrThrow(auditQuery, req.query, "query");
    const { rows } = await pool.query<{
      id: string; at: Date; action: string; outcome: string; actor_id: string | null; actor_email: string | null;
      target_type: string | null; target_id: string | null; ip: string | null; details: unknown; total: string;
    }>(
      `SELECT id::text, at, action, outcome, actor_id, actor_email, target_type, target_id, ip, details, count(*) OVER () AS total
       FROM audit_log
       WHERE ($1::text IS NULL OR action = $1) AND ($2::text IS NULL OR outcome = $2)
         AND ($3::uuid IS NULL OR actor_id = $3) AND ($4::text IS NULL OR actor_email = lower($4))
         AND ($5::text IS NULL OR target_id = $5)
         AND ($6::timestamptz IS NULL OR at >= $6) AND ($7::timestamptz IS NULL OR at <= $7)
       ORDER BY at DESC, id DESC LIMIT $8 OFFSET $9`,
      [q.action ?? null, q.outcome ?? null, q.actorId ?? null, q.actorEmail ?? null, q.targetId ?? null, q.from ?? null, q.to ?? null, q.pageSize, (q.page - 1) * q.pageSize],
    );
    res.json({
      items: rows.map((row) => ({
        id: row.id, at: row.at, action: row.action, outcome: row.outcome, actorId: row.actor_id, actorEmail: row.actor_email,
        targetType: row.target_type, targetId: row.target_id, ip: row.ip, details: row.details,
      })),
      total: Number(rows[0]?.total ?? 0),
      page: q.page,
      pageSize: q.pageSize,
    });
  });
  return router;
}
