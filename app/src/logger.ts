import pino, { type DestinationStream, type Logger } from "pino";

/**
 * Paths pino removes from every log line. Request logging never writes headers or bodies, so
 * these are a second line of defence should an object holding a secret ever reach a log call.
 */
export const REDACT_PATHS = [
  "password",
  "*.password",
  "currentPassword",
  "*.currentPassword",
  "newPassword",
  "*.newPassword",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "*.headers.authorization",
  "*.headers.cookie",
  '*.headers["x-krc-signature"]',
  "secret",
  "*.secret",
  "passwordHash",
  "*.passwordHash",
  "password_hash",
  "*.password_hash",
];

/** Creates the JSON logger; `destination` lets tests capture the lines. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "krc-api" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    },
    destination ?? pino.destination(1),
  );
}
