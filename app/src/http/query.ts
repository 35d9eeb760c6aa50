import type { NextFunction, Request, Response } from "express";
import { HttpError } from "./errors";

/**
 * Refuses a query string whose percent-escapes are malformed or not UTF-8 (400 `invalid_encoding`).
 * Express's parser would decode them to U+FFFD and the API would search for something the client
 * never sent; bodies get the same strictness in json.ts.
 */
export function strictQueryEncoding(req: Request, _res: Response, next: NextFunction): void {
  const start = req.originalUrl.indexOf("?");
  if (start !== -1) {
    for (const part of req.originalUrl.slice(start + 1).split("&")) {
      try {
        decodeURIComponent(part.replace(/\+/g, " "));
      } catch {
        next(new HttpError(400, "invalid_encoding", "The query string is not valid percent-encoded UTF-8"));
        return;
      }
    }
  }
  next();
}
