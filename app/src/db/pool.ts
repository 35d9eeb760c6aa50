import { Pool } from "pg";
import type { DatabaseConfig } from "../config";

/** A pg pool for the given role; TLS verifies the server against the configured CA when enabled. */
export function createPool(db: DatabaseConfig, max = 10): Pool {
  return new Pool({
    host: db.host,
    port: db.port,
    database: db.database,
    user: db.user,
    password: db.password,
    max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 15_000,
    application_name: "krc-api",
    ...(db.sslmode === "verify-full" ? { ssl: { ca: db.ca, rejectUnauthorized: true } } : {}),
  });
}
