import type { ClientBase } from "pg";
import type { Logger } from "pino";
import { recordAudit } from "../audit/service";
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../auth/password";
import { emailSchema } from "../http/schemas";

const MARKER = "bootstrap_admin_created";

/**
 * Creates the first admin exactly once per database, from the operator's email and the generated
 * initial password, flagged to change it at first login. A marker row makes it never happen
 * again, even if that admin is later deleted, so no default account can reappear.
 * Returns whether it created the account.
 */
export async function ensureBootstrapAdmin(client: ClientBase, rawEmail: string, password: string, logger: Logger): Promise<boolean> {
  const parsed = emailSchema.safeParse(rawEmail);
  if (!parsed.success) throw new Error("BOOTSTRAP_ADMIN_EMAIL must be a valid email address");
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new Error(`the bootstrap admin password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
  }
  const email = parsed.data;
  await client.query("BEGIN");
  try {
    await client.query("LOCK TABLE app_meta IN EXCLUSIVE MODE");
    const done = await client.query("SELECT 1 FROM app_meta WHERE key = $1", [MARKER]);
    if (done.rowCount !== 0) {
      await client.query("COMMIT");
      return false;
    }
    const passwordHash = await hashPassword(password);
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO users (email, role, password_hash, must_change_password) VALUES ($1, 'admin', $2, true)
       ON CONFLICT (email) DO NOTHING RETURNING id`,
      [email, passwordHash],
    );
    if (!rows[0]) throw new Error("a user with the bootstrap admin's email already exists; refusing to change it");
    await client.query("INSERT INTO app_meta (key, value) VALUES ($1, $2)", [MARKER, rows[0].id]);
    await recordAudit(client, logger, { actorEmail: "migrate", action: "user.created", outcome: "success", targetType: "user", targetId: rows[0].id, details: { email, role: "admin", bootstrap: true } });
    await client.query("COMMIT");
    return true;
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  }
}
