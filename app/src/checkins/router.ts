import { Router } from "express";
import { z } from "zod";
import { actorOf, recordAudit } from "../audit/service";
import { requireAuth } from "../auth/middleware";
import { inTransaction, type AppDeps } from "../context";
import { HttpError } from "../http/errors";
import { idParams, pagingFields } from "../http/schemas";
import { parseOrThrow } from "../http/validate";
import { enqueueEvent } from "../webhooks/outbox";

const createCheckinBody = z.strictObject({ clientId: z.uuid({ message: "must be a UUID" }) });
const listCheckinsQuery = z.strictObject(pagingFields);

interface CheckinRow {
  id: string;
  client_id: string;
  checked_in_at: Date;
  source: string;
  recorded_by: string | null;
}

function toCheckin(row: CheckinRow) {
  return { id: row.id, clientId: row.client_id, checkedInAt: row.checked_in_at, source: row.source, recordedBy: row.recorded_by };
}

/** Check-ins (visits): recorded by staff, admins or the kiosk; read by staff and admins. */
export function checkinsRouter(deps: AppDeps): Router {
  const { pool, logger, config } = deps;
  const router = Router();

  router.post("/checkins", requireAuth(deps, { roles: ["admin", "staff", "kiosk"] }), async (req, res) => {
    const { clientId } = parseOrThrow(createCheckinBody, req.body, "body");
    const source = req.auth?.role === "kiosk" ? "kiosk" : "staff";
    const checkin = await inTransaction(pool, async (tx) => {
      const { rows } = await tx.query<CheckinRow>(
        `INSERT INTO checkins (client_id, recorded_by, source) SELECT id, $2, $3 FROM clients WHERE id = $1
         RETURNING id, client_id, checked_in_at, source, recorded_by`,
        [clientId, req.auth?.userId ?? null, source],
      );
      const row = rows[0];
      if (!row) throw new HttpError(404, "not_found", "No such client");
      const created = toCheckin(row);
      await recordAudit(tx, logger, { ...actorOf(req), action: "checkin.created", outcome: "success", targetType: "client", targetId: clientId, details: { checkinId: created.id, source } });
      await enqueueEvent(tx, config.zapier.outboundUrls, "checkin.created", created);
      return created;
    });
    res.status(201).json(checkin);
  });

  router.get("/clients/:id/checkins", requireAuth(deps, { roles: ["admin", "staff"] }), async (req, res) => {
    const { id } = parseOrThrow(idParams, req.params, "params");
    const query = parseOrThrow(listCheckinsQuery, req.query, "query");
    const exists = await pool.query("SELECT 1 FROM clients WHERE id = $1", [id]);
    if (exists.rowCount === 0) throw new HttpError(404, "not_found", "No such client");
    const { rows } = await pool.query<CheckinRow & { total: string }>(
      `SELECT id, client_id, checked_in_at, source, recorded_by, count(*) OVER () AS total FROM checkins
       WHERE client_id = $1 ORDER BY checked_in_at DESC, id LIMIT $2 OFFSET $3`,
      [id, query.pageSize, (query.page - 1) * query.pageSize],
    );
    res.json({ items: rows.map(toCheckin), total: Number(rows[0]?.total ?? 0), page: query.page, pageSize: query.pageSize });
  });

  return router;
}
