import express, { type RequestHandler } from "express";
import { HttpError } from "./errors";

/** Largest JSON body the API accepts. */
export const BODY_LIMIT_BYTES = 16 * 1024;

function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = headers["content-length"];
  return headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** 415 for any request that carries a body that is not declared as JSON. */
export const requireJson: RequestHandler = (req, _res, next) => {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers["content-type"] ?? "")?.[1]?.toLowerCase();
  // JSON is UTF-8 (RFC 8259); other charsets are refused rather than transcoded.
  if (hasBody(req.headers) && (!req.is("application/json") || (charset !== undefined && charset !== "utf-8" && charset !== "utf8"))) {
    next(new HttpError(415, "unsupported_media_type", "Only application/json in UTF-8 is accepted"));
    return;
  }
  next();
};

/**
 * Strict JSON parser (objects and arrays only) with the body limit. Compressed bodies are refused
 * (415): no client needs them and inflating is a decompression-bomb surface.
 */
export const parseJson: RequestHandler = express.json({ limit: BODY_LIMIT_BYTES, strict: true, type: "application/json", inflate: false });
