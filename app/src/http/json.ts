import express, { type RequestHandler } from "express";
import { findDuplicateKey } from "./duplicateKeys";
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

// fatal: an invalid byte sequence throws instead of quietly becoming U+FFFD in the database.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes a body as UTF-8, refusing any invalid byte sequence with 400 `invalid_encoding`. */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new HttpError(400, "invalid_encoding", "The request body is not valid UTF-8");
  }
}

/**
 * Parses raw body bytes as strict JSON: valid UTF-8 (400 `invalid_encoding`), then an object or
 * array at the top (400 `invalid_json` for anything else or malformed text), then no key twice in
 * one object (400 `validation_failed`, rule `duplicate_key`). An empty body is `{}`.
 */
export function parseStrictJson(bytes: Uint8Array): unknown {
  const source = decodeUtf8Strict(bytes);
  if (source.length === 0) return {};
  // trimStart also drops non-JSON whitespace, but JSON.parse refuses such a body anyway.
  const first = source.trimStart()[0];
  if (first !== "{" && first !== "[") throw new HttpError(400, "invalid_json", "The request body is not valid JSON");
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    throw new HttpError(400, "invalid_json", "The request body is not valid JSON");
  }
  const duplicate = findDuplicateKey(source);
  if (duplicate) {
    throw new HttpError(400, "validation_failed", "The request body is invalid", [{ field: ["body", ...duplicate].join("."), rule: "duplicate_key", message: "must appear only once" }]);
  }
  return parsed;
}

// Raw bytes first, so the strict decoder sees exactly what was sent. Compressed bodies are refused
// (415): no client needs them and inflating is a decompression-bomb surface.
const readBody = express.raw({ limit: BODY_LIMIT_BYTES, type: "application/json", inflate: false });

/** Strict JSON body parser (UTF-8, objects and arrays only) with the body limit. */
export const parseJson: RequestHandler = (req, res, next) => {
  readBody(req, res, (error?: unknown) => {
    if (error !== undefined && error !== null) {
      next(error);
      return;
    }
    const raw: unknown = req.body;
    if (!Buffer.isBuffer(raw)) {
      next();
      return;
    }
    try {
      req.body = parseStrictJson(raw);
    } catch (failure) {
      next(failure);
      return;
    }
    next();
  });
};
