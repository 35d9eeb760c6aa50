import type { RequestHandler } from "express";
import { actorOf, recordAudit } from "../audit/service";
import type { AppDeps } from "../context";
import { HttpError } from "../http/errors";
import { loadActiveSession } from "./sessions";
import { TokenRejected, verifyAccessToken } from "./tokens";
import type { Role } from "./types";

const BEARER = /^Bearer ([A-Za-z0-9_-]{1,2048}\.[A-Za-z0-9_-]{0,4096}\.[A-Za-z0-9_-]{0,1024})$/;

function unauthorized(message: string): HttpError {
  return new HttpError(401, "unauthorized", message, undefined, { "WWW-Authenticate": 'Bearer realm="krc"' });
}

/** Options of a route's access rule. */
export interface AccessRule {
  /** Roles allowed; everyone else gets an audited 403. */
  readonly roles: readonly Role[];
  /** Lets a user who must change the password through (the change itself, logout, me). */
  readonly allowPendingPasswordChange?: boolean;
}

/**
 * Authenticates the bearer token on every request (signature, claims, then the live session and
 * user in the database, so a revoked token fails at once) and enforces the route's roles.
 */
export function requireAuth(deps: AppDeps, rule: AccessRule): RequestHandler {
  const { config, pool, logger } = deps;
  return async (req, _res, next) => {
    const header = req.headers.authorization;
    if (header === undefined) throw unauthorized("A bearer token is required");
    const match = BEARER.exec(header);
    if (!match?.[1]) throw unauthorized("The bearer token is malformed");
    let claims;
    try {
      claims = await verifyAccessToken(config.jwt, match[1]);
    } catch (error) {
      if (!(error instanceof TokenRejected)) throw error;
      logger.warn({ reason: error.message, path: req.originalUrl.split("?")[0], ip: req.ip }, "token rejected");
      throw unauthorized("The token is invalid or expired");
    }
    const auth = await loadActiveSession(pool, claims.userId, claims.sessionId);
    if (!auth) {
      logger.warn({ path: req.originalUrl.split("?")[0], ip: req.ip, userId: claims.userId }, "token of a revoked session or disabled user");
      throw unauthorized("The session has ended");
    }
    req.auth = auth;
    const pending = auth.mustChangePassword && !rule.allowPendingPasswordChange;
    if (pending || !rule.roles.includes(auth.role)) {
      await recordAudit(pool, logger, {
        ...actorOf(req),
        action: "access.denied",
        outcome: "denied",
        details: { method: req.method, path: req.originalUrl.split("?")[0], role: auth.role, ...(pending ? { reason: "password_change_required" } : {}) },
      });
      throw pending
        ? new HttpError(403, "password_change_required", "The password must be changed before anything else")
        : new HttpError(403, "forbidden", "Your role may not do this");
    }
    next();
  };
}
