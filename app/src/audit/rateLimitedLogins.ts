import type { ErrorRequestHandler, Request } from "express";
import type { RateLimitInfo } from "express-rate-limit";
import type { AppDeps } from "../context";
import { HttpError } from "../http/errors";
import { emailSchema } from "../http/schemas";
import { recordAudit } from "./service";

/**
 * Audits logins the per-address limiter refuses, as failed logins with reason `rate_limited`.
 * Mounted as an error handler right after the auth router: the limiter lives in auth/ and answers
 * through `next(error)`, so this sees its 429 on the way to the error handler and passes it on.
 * A limiter refusal is told apart from the per-account backoff (audited by the route itself) by the
 * limiter's own count: only the limiter refuses a request that went over its budget.
 */
export function auditRateLimitedLogins(deps: AppDeps): ErrorRequestHandler {
  const { pool, logger } = deps;
  return (error: unknown, req, _res, next) => {
    const info = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;
    const refused = req.method === "POST" && req.path === "/auth/login" && error instanceof HttpError && error.status === 429 && info !== undefined && info.used > info.limit;
    if (!refused) {
      next(error);
      return;
    }
    // The body is already parsed (JSON middleware runs first); only a well-formed email is kept.
    const email = emailSchema.safeParse((req.body as { email?: unknown } | undefined)?.email);
    recordAudit(pool, logger, { actorEmail: email.success ? email.data : null, ip: req.ip, action: "auth.login", outcome: "failure", details: { reason: "rate_limited" } })
      .catch((failure: unknown) => logger.error({ err: failure }, "could not audit a rate-limited login"))
      .finally(() => next(error));
  };
}
