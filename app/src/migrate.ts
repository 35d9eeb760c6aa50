import { Client } from "pg";
import { ConfigError, loadDatabaseConfig, readSecretFile } from "./config";
import { runMigrations } from "./db/migrator";
import { createLogger } from "./logger";
import { ensureBootstrapAdmin } from "./users/bootstrap";

/**
 * One-shot migration entry point, run as the owner role before the API starts: applies pending
 * migrations, narrows the app role's audit-table privileges, creates the bootstrap admin once.
 * Exits 0 on success, 78 on a configuration error, 1 on any other failure.
 */
async function main(): Promise<void> {
  const env = process.env;
  let settings;
  try {
    const appRole = env.APP_ROLE ?? "";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(appRole)) throw new ConfigError(`APP_ROLE must be the app role's name (lowercase letters, digits, _); got ${JSON.stringify(appRole)}`);
    const adminEmail = env.BOOTSTRAP_ADMIN_EMAIL ?? "";
    if (adminEmail.trim() === "") throw new ConfigError("BOOTSTRAP_ADMIN_EMAIL is not set: it must be the first admin's email");
    settings = { db: loadDatabaseConfig(env), appRole, adminEmail, adminPassword: readSecretFile(env, "BOOTSTRAP_ADMIN_PASSWORD_FILE") };
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`krc-migrate: configuration error: ${error.message}`);
      process.exit(78);
    }
    throw error;
  }
  const logger = createLogger(env.LOG_LEVEL ?? "info");
  const { db } = settings;
  const client = new Client({
    host: db.host, port: db.port, database: db.database, user: db.user, password: db.password,
    application_name: "krc-migrate",
    ...(db.sslmode === "verify-full" ? { ssl: { ca: db.ca, rejectUnauthorized: true } } : {}),
  });
  await client.connect();
  try {
    const applied = await runMigrations(client, settings.appRole, logger);
    const created = await ensureBootstrapAdmin(client, settings.adminEmail, settings.adminPassword, logger);
    logger.info({ applied, bootstrapAdminCreated: created }, "migrate done");
  } finally {
    await client.end();
  }
}

main().catch((error: unknown) => {
  console.error("krc-migrate: failed:", error instanceof Error ? error.message : "unknown error");
  process.exit(1);
});
