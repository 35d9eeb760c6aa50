import { randomUUID } from "node:crypto";
import cors from "cors";
import express, { type Express } from "express";
import helmet from "helmet";
import { auditRouter } from "./audit/router";
import { authRouter } from "./auth/router";
import { checkinsRouter } from "./checkins/router";
import { clientsRouter } from "./clients/router";
import type { AppDeps } from "./context";
import { errorHandler, notFound } from "./http/errors";
import { trustedHosts } from "./http/hosts";
import { parseJson, requireJson } from "./http/json";
import { strictQueryEncoding } from "./http/query";
import { usersRouter } from "./users/router";
import { webhooksRouter } from "./webhooks/router";

/**
 * Builds the Express app from validated config and its dependencies. It does not listen and
 * starts no background work, so tests build it directly.
 */
export function buildApp(deps: AppDeps): Express {
  const { config, pool, logger } = deps;
  const app = express();
  app.disable("x-powered-by");
  // Exactly the configured hops (Caddy: 1) are trusted, so req.ip is the address Caddy saw.
  app.set("trust proxy", config.trustProxyHops);

  // Request log: method, path (no query string, no headers, no body), status, duration.
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    const id = randomUUID();
    res.setHeader("X-Request-Id", id);
    res.on("finish", () => {
      logger.info({ requestId: id, method: req.method, path: req.originalUrl.split("?")[0], status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6, ip: req.ip }, "request");
    });
    next();
  });
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      frameguard: { action: "deny" },
      crossOriginResourcePolicy: { policy: "same-site" },
    }),
  );
  app.use((_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    next();
  });
  app.use(trustedHosts(config.allowedHosts));
  app.use(strictQueryEncoding);
  const allowed = new Set(config.corsOrigins);
  // A disallowed origin simply gets no CORS headers: the browser blocks it, the API does not error.
  app.use(cors({ origin: (origin, done) => done(null, origin !== undefined && allowed.has(origin)), methods: ["GET", "POST", "PATCH", "DELETE"], allowedHeaders: ["Content-Type", "Authorization"], maxAge: 600 }));

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    try {
      await pool.query("SELECT 1");
      res.json({ status: "ready" });
    } catch (error) {
      logger.warn({ err: error }, "database not reachable");
      res.status(503).json({ status: "unavailable" });
    }
  });

  app.use(webhooksRouter(deps));
  app.use(requireJson, parseJson);
  app.use(authRouter(deps));
  app.use(usersRouter(deps));
  app.use(clientsRouter(deps));
  app.use(checkinsRouter(deps));
  app.use(auditRouter(deps));
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
