import { Router, type Request } from "express";
import { actorOf, recordAudit } from "../audit/service";
import { inTransaction, type AppDeps } from "../context";
import { HttpError } from "../http/errors";
import { emailSchema } from "../http/schemas";
import { parseOrThrow } from "../http/validate";
import { findUserByEmail, findUserById, updateUser } from "../users/repository";
import { assertPasswordPolicy } from "../users/router";
import { requireAuth } from "./middleware";
import { hashPassword, needsRehash, timingDummyHash, verifyPassword } from "./password";
import { loginRateLimiter } from "./rateLimit";
import { changePasswordBody, loginBody } from "./schema";
import { createSession, revokeAllSessions, revokeSession, revokeUserSessions } from "./sessions";
import { accountKey, lockedFor, recordFailure, recordSuccess } from "./throttle";
import { signAccessToken } from "./tokens";
import { ROLES } from "./types";

/** Login, logout, the caller's profile, password change and the admin's revoke-all. */
export function authRouter(deps: AppDeps): Router {
  const { config, pool, logger } = deps;
  const router = Router();
  const anyone = requireAuth(deps, { roles: ROLES, allowPendingPasswordChange: true });

  async function issue(userId: string): Promise<{ token: string; tokenType: "Bearer"; expiresAt: string }> {
    const session = await createSession(pool, userId, config.jwt.ttlSeconds);
    const token = await signAccessToken(config.jwt, { userId, sessionId: session.id }, session.expiresAt);
    return { token, tokenType: "Bearer", expiresAt: session.expiresAt.toISOString() };
  }

  // A refusal by the per-address limiter is a failed login too; only a well-formed email is kept
  // (the body is parsed before the routers run, but not yet validated).
  const auditRateLimited = async (req: Request): Promise<void> => {
    const email = emailSchema.safeParse((req.body as { email?: unknown } | undefined)?.email);
    await recordAudit(pool, logger, { actorEmail: email.success ? email.data : null, ip: req.ip, action: "auth.login", outcome: "failure", details: { reason: "rate_limited" } }).catch(
      (failure: unknown) => logger.error({ err: failure }, "could not audit a rate-limited login"),
    );
  };

  // The limiter runs first: nothing is parsed or hashed for an address over its budget.
  router.post("/auth/login", loginRateLimiter(auditRateLimited), async (req, res) => {
    const body = parseOrThrow(loginBody, req.body, "body");
    const key = accountKey(config.secretKey, body.email);
    const audit = { actorEmail: body.email, ip: req.ip };
    const wait = await lockedFor(pool, key);
    if (wait > 0) {
      await recordAudit(pool, logger, { ...audit, action: "auth.login", outcome: "failure", details: { reason: "account_backoff" } });
      throw new HttpError(429, "too_many_requests", "Too many failed attempts for this account; try again later", undefined, { "Retry-After": String(wait) });
    }
    const user = await findUserByEmail(pool, body.email);
    // Unknown and disabled accounts cost one hash too, so timing does not reveal which exist.
    const ok = await verifyPassword(user && !user.disabled ? user.passwordHash : await timingDummyHash(), body.password);
    if (!user || user.disabled || !ok) {
      await recordFailure(pool, key);
      await recordAudit(pool, logger, { ...audit, actorId: user?.id ?? null, action: "auth.login", outcome: "failure", details: { reason: !user ? "unknown_account" : user.disabled ? "disabled" : "bad_password" } });
      throw new HttpError(401, "invalid_credentials", "Email or password is wrong");
    }
    await recordSuccess(pool, key);
    if (needsRehash(user.passwordHash)) await updateUser(pool, user.id, { passwordHash: await hashPassword(body.password) });
    const issued = await issue(user.id);
    await recordAudit(pool, logger, { ...audit, actorId: user.id, action: "auth.login", outcome: "success" });
    res.json({ ...issued, user: { id: user.id, email: user.email, role: user.role, mustChangePassword: user.mustChangePassword } });
  });

  router.post("/auth/logout", anyone, async (req, res) => {
    const auth = req.auth;
    if (!auth) throw new Error("requireAuth did not set req.auth");
    await revokeSession(pool, auth.sessionId, "logout");
    await recordAudit(pool, logger, { ...actorOf(req), action: "auth.logout", outcome: "success", details: { revokedSessions: 1 } });
    res.status(204).end();
  });

  router.get("/auth/me", anyone, (req, res) => {
    const auth = req.auth;
    if (!auth) throw new Error("requireAuth did not set req.auth");
    res.json({ id: auth.userId, email: auth.email, role: auth.role, mustChangePassword: auth.mustChangePassword });
  });

  router.post("/auth/password", anyone, async (req, res) => {
    const auth = req.auth;
    if (!auth) throw new Error("requireAuth did not set req.auth");
    const body = parseOrThrow(changePasswordBody, req.body, "body");
    // The current password is guessable through a stolen token too: same per-account backoff as login.
    const key = accountKey(config.secretKey, auth.email);
    const wait = await lockedFor(pool, key);
    if (wait > 0) throw new HttpError(429, "too_many_requests", "Too many failed attempts for this account; try again later", undefined, { "Retry-After": String(wait) });
    const user = await findUserById(pool, auth.userId);
    if (!user || !(await verifyPassword(user.passwordHash, body.currentPassword))) {
      await recordFailure(pool, key);
      await recordAudit(pool, logger, { ...actorOf(req), action: "auth.password_change", outcome: "failure", targetType: "user", targetId: auth.userId, details: { reason: "wrong_current_password" } });
      throw new HttpError(403, "wrong_current_password", "The current password is wrong");
    }
    if (body.newPassword === body.currentPassword) {
      throw new HttpError(400, "validation_failed", "The password does not meet the policy", [{ field: "body.newPassword", rule: "password_policy", message: "must differ from the current password" }]);
    }
    assertPasswordPolicy(body.newPassword, "body.newPassword", user.email);
    const passwordHash = await hashPassword(body.newPassword);
    await inTransaction(pool, async (tx) => {
      await updateUser(tx, user.id, { passwordHash, mustChangePassword: false });
      const revoked = await revokeUserSessions(tx, user.id, "password changed");
      await recordAudit(tx, logger, { ...actorOf(req), action: "auth.password_change", outcome: "success", targetType: "user", targetId: user.id, details: { revokedSessions: revoked } });
    });
    // Every earlier token is dead now; the caller gets a fresh one.
    res.json(await issue(user.id));
  });

  router.post("/auth/revoke-all", requireAuth(deps, { roles: ["admin"] }), async (req, res) => {
    const revoked = await revokeAllSessions(pool, "revoke-all by admin");
    await recordAudit(pool, logger, { ...actorOf(req), action: "sessions.revoked_all", outcome: "success", details: { revokedSessions: revoked } });
    res.json({ revokedSessions: revoked });
  });

  return router;
}
