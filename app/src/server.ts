import type { Server } from "node:http";
import { buildApp } from "./app";
import { ConfigError, loadConfig } from "./config";
import { purgeExpired } from "./db/housekeeping";
import { createPool } from "./db/pool";
import { createLogger } from "./logger";
import { DEFAULT_OUTBOX_OPTIONS, startOutboxWorker } from "./webhooks/worker";

/** Time allowed for in-flight requests to finish after SIGTERM. */
const DRAIN_MS = 10_000;
/** How often stale sessions, delivery ids and throttle rows are removed. */
const HOUSEKEEPING_MS = 15 * 60_000;

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`krc-api: configuration error: ${error.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const pool = createPool(config.database);
  pool.on("error", (error) => logger.error({ err: error }, "idle database client error"));
  const app = buildApp({ config, pool, logger });
  const worker = startOutboxWorker(pool, logger, config.zapier, { ...DEFAULT_OUTBOX_OPTIONS, ...config.outbox });
  const housekeeping = setInterval(() => {
    purgeExpired(pool).then(
      (purged) => logger.info({ purged }, "housekeeping"),
      (error: unknown) => logger.error({ err: error }, "housekeeping failed"),
    );
  }, HOUSEKEEPING_MS);
  housekeeping.unref();
  const server = app.listen(config.port, "0.0.0.0", () => logger.info({ port: config.port }, "listening"));
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "draining");
    const force = setTimeout(() => {
      logger.warn("drain timed out; closing remaining connections");
      server.closeAllConnections();
    }, DRAIN_MS);
    force.unref();
    clearInterval(housekeeping);
    await closeServer(server);
    await worker.stop();
    await pool.end();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  console.error("krc-api: failed to start:", error instanceof Error ? error.message : "unknown error");
  process.exit(1);
});
