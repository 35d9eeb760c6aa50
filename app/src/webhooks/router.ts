import express, { Router } from "express";
import { z } from "zod";
import { recordAudit } from "../audit/service";
import { requireAuth } from "../auth/middleware";
import { insertClient } from "../clients/repository";
import { createClientBody } from "../clients/schema";
import { inTransaction, type AppDeps } from "../context";
import { HttpError } from "../http/errors";
import { BODY_LIMIT_BYTES, parseStrictJson, requireJson } from "../http/json";
import { pagingFields } from "../http/schemas";
import { parseOrThrow } from "../http/validate";
import { describeTarget, enqueueEvent } from "./outbox";
import { verifySignature } from "./signature";

/** What Zapier may send: today, one event that creates a client. */
const inboundBody = z.discriminatedUnion("event", [z.strictObject({ event: z.literal("client.create"), data: createClientBody })]);

const outboxQuery = z.strictObject({ ...pagingFields, status: z.enum(["pending", "delivered", "dead"]).optional() });
const outboxParams = z.strictObject({ id: z.string().regex(/^[1-9][0-9]{0,15}$/, "must be a positive integer") });

/**
 * POST /webhooks/zapier (signed, no token) and the admin's outbox view and replay. The inbound
 * route reads the raw bytes: the signature covers exactly what was sent, before any parsing.
 */
export function webhooksRouter(deps: AppDeps): Router {
  const { pool, logger, config } = deps;
  const router = Router();

  router.post("/webhooks/zapier", requireJson, express.raw({ type: "application/json", limit: BODY_LIMIT_BYTES, inflate: false }), async (req, res) => {
    const raw: unknown = req.body;
    const bytes = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
    const verdict = verifySignature(config.zapier.hmacSecret, req.headers, bytes);
    if (!verdict.ok) {
      logger.warn({ reason: verdict.reason, ip: req.ip }, "webhook signature rejected");
      throw new HttpError(401, "invalid_signature", "The webhook signature is missing, malformed, stale or wrong");
    }
    const body = parseOrThrow(inboundBody, parseStrictJson(bytes), "body");
    const client = await inTransaction(pool, async (tx) => {
      const fresh = await tx.query("INSERT INTO webhook_inbound (delivery_id, event) VALUES ($1, $2) ON CONFLICT DO NOTHING", [verdict.deliveryId, body.event]);
      if (fresh.rowCount === 0) throw new HttpError(409, "replayed_delivery", "This delivery id was already processed");
      const created = await insertClient(tx, body.data, null);
      await recordAudit(tx, logger, { actorEmail: "zapier", ip: req.ip, action: "client.created", outcome: "success", targetType: "client", targetId: created.id, details: { via: "zapier", deliveryId: verdict.deliveryId, fields: { name: created.name, email: created.email, phone: created.phone } } });
      await enqueueEvent(tx, config.zapier.outboundUrls, "client.created", created);
      return created;
    });
    res.status(201).json({ id: client.id });
  });

  const admin = requireAuth(deps, { roles: ["admin"] });

  router.get("/webhooks/outbox", admin, async (req, res) => {
    const q = parseOrThrow(outboxQuery, req.query, "query");
    const { rows } = await pool.query(
      `SELECT id::text AS id, delivery_id AS "deliveryId", event, target_url AS target, status, attempts,
              next_attempt_at AS "nextAttemptAt", last_error AS "lastError", created_at AS "createdAt", delivered_at AS "deliveredAt",
              count(*) OVER () AS total
       FROM outbox WHERE ($1::text IS NULL OR status = $1) ORDER BY id DESC LIMIT $2 OFFSET $3`,
      [q.status ?? null, q.pageSize, (q.page - 1) * q.pageSize],
    );
    const total = Number((rows[0] as { total?: string } | undefined)?.total ?? 0);
    // The receiver URL is a secret (its path carries the token): only its reference and host go out.
    const items = rows.map(({ total: _total, target, ...row }: Record<string, unknown>) => ({ ...row, ...describeTarget(String(target), config.zapier.outboundUrls) }));
    res.json({ items, total, page: q.page, pageSize: q.pageSize });
  });

  router.post("/webhooks/outbox/:id/replay", admin, async (req, res) => {
    const { id } = parseOrThrow(outboxParams, req.params, "params");
    await inTransaction(pool, async (tx) => {
      const current = await tx.query<{ status: string }>("SELECT status FROM outbox WHERE id = $1 FOR UPDATE", [id]);
      const status = current.rows[0]?.status;
      if (status === undefined) throw new HttpError(404, "not_found", "No such delivery");
      if (status !== "dead") throw new HttpError(409, "not_dead", "Only dead-lettered deliveries can be replayed");
      await tx.query("UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = now(), leased_until = NULL WHERE id = $1", [id]);
      await recordAudit(tx, logger, { actorId: req.auth?.userId ?? null, actorEmail: req.auth?.email ?? null, ip: req.ip, action: "webhook.replayed", outcome: "success", targetType: "outbox", targetId: id });
    });
    res.status(202).json({ id, status: "pending" });
  });

  return router;
}
