import type { RequestHandler } from "express";
import { HttpError } from "./errors";

/** Extracts the lowercase hostname from a Host-style header value (drops the port). */
export function hostnameOf(value: string): string | undefined {
  const trimmed = value.trim().toLowerCase();
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/.exec(trimmed);
  return match?.[1];
}

/**
 * Rejects a request whose Host (or X-Forwarded-Host, should a proxy set one) is not in the list.
 * The raw headers are checked rather than `req.hostname`, which follows X-Forwarded-Host once a
 * proxy is trusted; the rejection never echoes the host back.
 */
export function trustedHosts(allowed: readonly string[]): RequestHandler {
  const allowedSet = new Set(allowed.map((host) => host.toLowerCase()));
  const ok = (value: string | undefined): boolean => {
    const name = value === undefined ? undefined : hostnameOf(value);
    return name !== undefined && allowedSet.has(name);
  };
  return (req, _res, next) => {
    const forwarded = req.headers["x-forwarded-host"];
    if (!ok(req.headers.host) || (forwarded !== undefined && !(typeof forwarded === "string" && ok(forwarded)))) {
      next(new HttpError(400, "host_not_allowed", "The requested host is not served here"));
      return;
    }
    next();
  };
}
