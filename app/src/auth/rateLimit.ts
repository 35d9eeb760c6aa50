import type { Request } from "express";
import { rateLimit, type RateLimitInfo, type RateLimitRequestHandler } from "express-rate-limit";
import { HttpError } from "../http/errors";

/** Login attempts allowed per client address per window (the guide: 5 per minute). */
export const LOGIN_LIMIT = 5;
export const LOGIN_WINDOW_MS = 60_000;

/**
 * Per-address login limiter. It keys on `req.ip`, which Express derives from X-Forwarded-For
 * honouring exactly the configured number of proxy hops: entries a client adds in front of the
 * one Caddy appends are ignored, so forged headers neither reset nor borrow a budget. Each refusal
 * is reported to `onRefused` (the audit) before the 429 goes out; it must not throw.
 */
export function loginRateLimiter(onRefused: (req: Request) => Promise<void>): RateLimitRequestHandler {
  return rateLimit({
    windowMs: LOGIN_WINDOW_MS,
    limit: LOGIN_LIMIT,
    standardHeaders: "draft-7",
    legacyHeaders: false,
    handler: (req, _res, next) => {
      const info = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;
      const reset = info?.resetTime?.getTime() ?? Date.now() + LOGIN_WINDOW_MS;
      const retryAfter = Math.max(1, Math.ceil((reset - Date.now()) / 1000));
      const refusal = new HttpError(429, "too_many_requests", "Too many login attempts; try again later", undefined, { "Retry-After": String(retryAfter) });
      void onRefused(req).finally(() => next(refusal));
    },
  });
}
