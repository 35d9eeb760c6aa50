import { Router } from "express";
import { actorOf, recordAudit } from "../audit/service";
import { requireAuth } from "../auth/middleware";
import { inTransaction, type AppDeps } from "../context";
import { HttpError } from "../http/errors";
import { idParams } from "../http/schemas";
import { parseOrThrow } from "../http/validate";
import { enqueueEvent } from "../webhooks/outbox";
import { deleteClient, findClient, findClientsByPhone, insertClient, listClients, updateClient, type Client } from "./repository";
import { createClientBody, kioskLookupQuery, listClientsQuery, updateClientBody } from "./schema";

function changesBetween(before: Client, after: Client): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of ["name", "email", "phone"] as const) {
    if (before[key] !== after[key]) changes[key] = { from: before[key], to: after[key] };
  }
  return changes;
}

/** Clients: staff and admins read and write, only admins delete; the kiosk only looks up by phone. */
export function clientsRouter(deps: AppDeps): Router {
  const { pool, logger, config } = deps;
  const router = Router();
  const staff = requireAuth(deps, { roles: ["admin", "staff"] });
  const admin = requireAuth(deps, { roles: ["admin"] });
  const kiosk = requireAuth(deps, { roles: ["admin", "staff", "kiosk"] });

  router.get("/clients", staff, async (req, res) => {
    const query = parseOrThrow(listClientsQuery, req.query, "query");
    const { items, total } = await listClients(pool, query.page, query.pageSize, query.q);
    res.json({ items, total, page: query.page, pageSize: query.pageSize });
  });

  router.post("/clients", staff, async (req, res) => {
    const body = parseOrThrow(createClientBody, req.body, "body");
    const client = await inTransaction(pool, async (tx) => {
      const created = await insertClient(tx, body, req.auth?.userId ?? null);
      await recordAudit(tx, logger, { ...actorOf(req), action: "client.created", outcome: "success", targetType: "client", targetId: created.id, details: { fields: { name: created.name, email: created.email, phone: created.phone } } });
      await enqueueEvent(tx, config.zapier.outboundUrls, "client.created", created);
      return created;
    });
    res.status(201).json(client);
  });

  router.get("/clients/:id", staff, async (req, res) => {
    const { id } = parseOrThrow(idParams, req.params, "params");
    const client = await findClient(pool, id);
    if (!client) throw new HttpError(404, "not_found", "No such client");
    res.json(client);
  });

  router.patch("/clients/:id", staff, async (req, res) => {
    const { id } = parseOrThrow(idParams, req.params, "params");
    const body = parseOrThrow(updateClientBody, req.body, "body");
    const client = await inTransaction(pool, async (tx) => {
      const before = await findClient(tx, id);
      const after = before ? await updateClient(tx, id, body) : undefined;
      if (!before || !after) throw new HttpError(404, "not_found", "No such client");
      await recordAudit(tx, logger, { ...actorOf(req), action: "client.updated", outcome: "success", targetType: "client", targetId: id, details: { changes: changesBetween(before, after) } });
      await enqueueEvent(tx, config.zapier.outboundUrls, "client.updated", after);
      return after;
    });
    res.json(client);
  });

  router.delete("/clients/:id", admin, async (req, res) => {
    const { id } = parseOrThrow(idParams, req.params, "params");
    await inTransaction(pool, async (tx) => {
      const before = await findClient(tx, id);
      if (!before || !(await deleteClient(tx, id))) throw new HttpError(404, "not_found", "No such client");
      await recordAudit(tx, logger, { ...actorOf(req), action: "client.deleted", outcome: "success", targetType: "client", targetId: id, details: { fields: { name: before.name, email: before.email, phone: before.phone } } });
    });
    res.status(204).end();
  });

  // The kiosk sees only what it needs to greet and check someone in.
  router.get("/kiosk/clients", kiosk, async (req, res) => {
    const { phone } = parseOrThrow(kioskLookupQuery, req.query, "query");
    const matches = await findClientsByPhone(pool, phone);
    res.json({ items: matches.map((client) => ({ id: client.id, name: client.name })) });
  });

  return router;
}
