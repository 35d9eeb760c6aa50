import { Router, type Request, type Response } from "express";
import { actorOf, recordAudit } from "../audit/service";
import { requireAuth } from "../auth/middleware";
import { hashPassword, passwordProblems } from "../auth/password";
import { revokeUserSessions } from "../auth/sessions";
import { inTransaction, type AppDeps } from "../context";
import { HttpError } from "../http/errors";
import { idParams } from "../http/schemas";
import { parseOrThrow } from "../http/validate";
import { deleteUser, findUserById, insertUser, listUsers, updateUser } from "./repository";
import { createUserBody, listUsersQuery, resetPasswordBody, updateUserBody } from "./schema";

/** Throws a 400 naming the broken password rules, if any. */
export function assertPasswordPolicy(password: string, field: string, email?: string): void {
  const problems = passwordProblems(password, email);
  if (problems.length > 0) {
    throw new HttpError(
      400,
      "validation_failed",
      "The password does not meet the policy",
      problems.map((message) => ({ field, rule: "password_policy", message })),
    );
  }
}

function notSelf(req: Request, id: string): void {
  if (req.auth?.userId === id) throw new HttpError(409, "cannot_modify_self", "An admin cannot disable, delete, demote or reset their own account here");
}

/** Admin-only user management. */
export function usersRouter(deps: AppDeps): Router {
  const { pool, logger } = deps;
  const router = Router();
  router.use("/users", requireAuth(deps, { roles: ["admin"] }));

  router.get("/users", async (req, res) => {
    const query = parseOrThrow(listUsersQuery, req.query, "query");
    const { items, total } = await listUsers(pool, query.page, query.pageSize, query.role);
    res.json({ items, total, page: query.page, pageSize: query.pageSize });
  });

  router.post("/users", async (req, res) => {
    const body = parseOrThrow(createUserBody, req.body, "body");
    assertPasswordPolicy(body.password, "body.password", body.email);
    const passwordHash = await hashPassword(body.password);
    const user = await inTransaction(pool, async (tx) => {
      const created = await insertUser(tx, { email: body.email, role: body.role, passwordHash, mustChangePassword: body.mustChangePassword });
      if (!created) throw new HttpError(409, "email_taken", "A user with this email already exists");
      await recordAudit(tx, logger, { ...actorOf(req), action: "user.created", outcome: "success", targetType: "user", targetId: created.id, details: { email: created.email, role: created.role } });
      return created;
    });
    res.status(201).json(user);
  });

  router.get("/users/:id", async (req, res) => {
    const { id } = parseOrThrow(idParams, req.params, "params");
    const user = await findUserById(pool, id);
    if (!user) throw new HttpError(404, "not_found", "No such user");
    const { passwordHash: _hash, ...view } = user;
    res.json(view);
  });

  router.patch("/users/:id", async (req, res) => {
    const { id } = parseOrThrow(idParams, req.params, "params");
    const body = parseOrThrow(updateUserBody, req.body, "body");
    notSelf(req, id);
    const user = await inTransaction(pool, async (tx) => {
      const before = await findUserById(tx, id);
      const updated = await updateUser(tx, id, { role: body.role });
      if (!before || !updated) throw new HttpError(404, "not_found", "No such user");
      await recordAudit(tx, logger, { ...actorOf(req), action: "user.updated", outcome: "success", targetType: "user", targetId: id, details: { role: { from: before.role, to: updated.role } } });
      return updated;
    });
    res.json(user);
  });

  const setDisabled = (disabled: boolean) => async (req: Request, res: Response) => {
    const { id } = parseOrThrow(idParams, req.params, "params");
    notSelf(req, id);
    const user = await inTransaction(pool, async (tx) => {
      const updated = await updateUser(tx, id, { disabled });
      if (!updated) throw new HttpError(404, "not_found", "No such user");
      const revoked = disabled ? await revokeUserSessions(tx, id, "user disabled") : 0;
      await recordAudit(tx, logger, { ...actorOf(req), action: disabled ? "user.disabled" : "user.enabled", outcome: "success", targetType: "user", targetId: id, details: { revokedSessions: revoked } });
      return updated;
    });
    res.json(user);
  };
  router.post("/users/:id/disable", setDisabled(true));
  router.post("/users/:id/enable", setDisabled(false));

  router.post("/users/:id/reset-password", async (req, res) => {
    const { id } = parseOrThrow(idParams, req.params, "params");
    const body = parseOrThrow(resetPasswordBody, req.body, "body");
    notSelf(req, id);
    const target = await findUserById(pool, id);
    if (!target) throw new HttpError(404, "not_found", "No such user");
    assertPasswordPolicy(body.password, "body.password", target.email);
    const passwordHash = await hashPassword(body.password);
    const user = await inTransaction(pool, async (tx) => {
      const updated = await updateUser(tx, id, { passwordHash, mustChangePassword: true });
      if (!updated) throw new HttpError(404, "not_found", "No such user");
      const revoked = await revokeUserSessions(tx, id, "password reset by admin");
      await recordAudit(tx, logger, { ...actorOf(req), action: "user.password_reset", outcome: "success", targetType: "user", targetId: id, details: { revokedSessions: revoked } });
      return updated;
    });
    res.json(user);
  });

  router.post("/users/:id/revoke-sessions", async (req, res) => {
    const { id } = parseOrThrow(idParams, req.params, "params");
    const revoked = await inTransaction(pool, async (tx) => {
      if (!(await findUserById(tx, id))) throw new HttpError(404, "not_found", "No such user");
      const count = await revokeUserSessions(tx, id, "revoked by admin");
      await recordAudit(tx, logger, { ...actorOf(req), action: "sessions.revoked", outcome: "success", targetType: "user", targetId: id, details: { revokedSessions: count } });
      return count;
    });
    res.json({ revokedSessions: revoked });
  });

  router.delete("/users/:id", async (req, res) => {
    const { id } = parseOrThrow(idParams, req.params, "params");
    notSelf(req, id);
    await inTransaction(pool, async (tx) => {
      const before = await findUserById(tx, id);
      if (!before || !(await deleteUser(tx, id))) throw new HttpError(404, "not_found", "No such user");
      await recordAudit(tx, logger, { ...actorOf(req), action: "user.deleted", outcome: "success", targetType: "user", targetId: id, details: { email: before.email, role: before.role } });
    });
    res.status(204).end();
  });

  return router;
}
