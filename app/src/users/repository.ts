import type { Role } from "../auth/types";
import type { Db } from "../context";

/** A user as the API shows it (never the hash). */
export interface UserView {
  readonly id: string;
  readonly email: string;
  readonly role: Role;
  readonly disabled: boolean;
  readonly mustChangePassword: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface UserRow {
  id: string;
  email: string;
  role: Role;
  disabled: boolean;
  must_change_password: boolean;
  created_at: Date;
  updated_at: Date;
  password_hash: string;
}

const COLUMNS = "id, email, role, disabled, must_change_password, created_at, updated_at, password_hash";

/** Maps a row to the public view, dropping the hash. */
export function toView(row: UserRow): UserView {
  return { id: row.id, email: row.email, role: row.role, disabled: row.disabled, mustChangePassword: row.must_change_password, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** A user with the password hash, for authentication only. */
export type UserRecord = UserView & { readonly passwordHash: string };

function toRecord(row: UserRow): UserRecord {
  return { ...toView(row), passwordHash: row.password_hash };
}

/** Finds a user by normalized email. */
export async function findUserByEmail(db: Db, email: string): Promise<UserRecord | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE email = $1`, [email]);
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/** Finds a user by id. */
export async function findUserById(db: Db, id: string): Promise<UserRecord | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/** Lists users, newest first. */
export async function listUsers(db: Db, page: number, pageSize: number, role?: Role): Promise<{ items: UserView[]; total: number }> {
  const { rows } = await db.query<UserRow & { total: string }>(
    `SELECT ${COLUMNS}, count(*) OVER () AS total FROM users WHERE ($1::text IS NULL OR role = $1)
     ORDER BY created_at DESC, id LIMIT $2 OFFSET $3`,
    [role ?? null, pageSize, (page - 1) * pageSize],
  );
  return { items: rows.map(toView), total: Number(rows[0]?.total ?? 0) };
}

/** Inserts a user; returns undefined when the email is taken. */
export async function insertUser(db: Db, user: { email: string; role: Role; passwordHash: string; mustChangePassword: boolean }): Promise<UserView | undefined> {
  const { rows } = await db.query<UserRow>(
    `INSERT INTO users (email, role, password_hash, must_change_password) VALUES ($1, $2, $3, $4)
     ON CONFLICT (email) DO NOTHING RETURNING ${COLUMNS}`,
    [user.email, user.role, user.passwordHash, user.mustChangePassword],
  );
  return rows[0] ? toView(rows[0]) : undefined;
}

/** Updates the listed fields of a user; returns the new view or undefined when absent. */
export async function updateUser(
  db: Db,
  id: string,
  changes: { role?: Role; disabled?: boolean; passwordHash?: string; mustChangePassword?: boolean },
): Promise<UserView | undefined> {
  const { rows } = await db.query<UserRow>(
    `UPDATE users SET
       role = coalesce($2, role),
       disabled = coalesce($3, disabled),
       password_hash = coalesce($4, password_hash),
       password_changed_at = CASE WHEN $4::text IS NULL THEN password_changed_at ELSE now() END,
       must_change_password = coalesce($5, must_change_password),
       updated_at = now()
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, changes.role ?? null, changes.disabled ?? null, changes.passwordHash ?? null, changes.mustChangePassword ?? null],
  );
  return rows[0] ? toView(rows[0]) : undefined;
}

/** Deletes a user; returns whether one was deleted. */
export async function deleteUser(db: Db, id: string): Promise<boolean> {
  const result = await db.query("DELETE FROM users WHERE id = $1", [id]);
  return (result.rowCount ?? 0) > 0;
}
