import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "pino";

/** One detail of a 400: which field broke which rule. */
export interface FieldIssue {
  readonly field: string;
  readonly rule: string;
  readonly message: string;
}

/** An error whose status, code and message are safe to show to the client. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: readonly FieldIssue[],
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}

/** 404 for every route nothing else answered. */
export const notFound: RequestHandler = (_req, _res, next) => {
  next(new HttpError(404, "not_found", "No such route"));
};

interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
}

/**
 * Maps body-parser failures (raised before any route runs) to precise client errors. A parser
 * error of a type not listed here still carries its 4xx status: it becomes that 4xx, never a 500.
 */
export function fromBodyParser(error: BodyParserError | null | undefined): HttpError | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  switch (error.type) {
    case "entity.parse.failed":
      return new HttpError(400, "invalid_json", "The request body is not valid JSON");
    case "entity.too.large":
      return new HttpError(413, "payload_too_large", "The request body is larger than the limit");
    case "encoding.unsupported":
      return new HttpError(415, "unsupported_media_type", "Compressed request bodies are not accepted (Content-Encoding must be identity)");
    case "charset.unsupported":
      return new HttpError(415, "unsupported_media_type", "Only application/json in UTF-8 is accepted");
    case "request.aborted":
      return new HttpError(400, "request_aborted", "The request was aborted");
    case "request.size.invalid":
      return new HttpError(400, "invalid_length", "The request length does not match Content-Length");
    default:
      return fromClientStatus(error.status ?? error.statusCode);
  }
}

function fromClientStatus(status: unknown): HttpError | undefined {
  if (typeof status !== "number" || !Number.isInteger(status) || status < 400 || status > 499) return undefined;
  if (status === 413) return new HttpError(413, "payload_too_large", "The request body is larger than the limit");
  if (status === 415) return new HttpError(415, "unsupported_media_type", "Only application/json in UTF-8 is accepted");
  return new HttpError(status, "bad_request", "The request could not be read");
}

/**
 * The last middleware: known errors become their status and JSON body; anything else is logged
 * with its details and answered with a generic 500 that reveals nothing.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const known = error instanceof HttpError ? error : fromBodyParser(error as BodyParserError);
    if (res.headersSent) {
      logger.error({ err: error, path: req.path }, "error after response started");
      res.destroy();
      return;
    }
    if (known) {
      for (const [name, value] of Object.entries(known.headers ?? {})) res.setHeader(name, value);
      res.status(known.status).json({ error: { code: known.code, message: known.message, ...(known.details ? { details: known.details } : {}) } });
      return;
    }
    logger.error({ err: error, method: req.method, path: req.path }, "unhandled error");
    res.status(500).json({ error: { code: "internal", message: "Internal server error" } });
  };
}
