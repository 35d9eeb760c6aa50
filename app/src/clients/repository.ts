import type { Db } from "../context";

/** A client as the API returns it. */
export interface Client {
  readonly id: string;
  readonly name: string;
  readonly email: string | null;
  readonly phone: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface ClientRow {
  id: string;
  name: string;
  email: string | null;
  phone: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = "id, name, email, phone, created_at, updated_at";

function toClient(row: ClientRow): Client {
  return { id: row.id, name: row.name, email: row.email, phone: row.phone, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** Escapes LIKE wildcards so a search term matches literally. */
function likeTerm(term: string): string {
  return `%${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Inserts a client. */
export async function insertClient(db: Db, input: { name: string; phone: string; email?: string | null | undefined }, createdBy: string | null): Promise<Client> {
  const { rows } = await db.query<ClientRow>(
    `INSERT INTO clients (name, phone, email, created_by) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [input.name, input.phone, input.email ?? null, createdBy],
  );
  const row = rows[0];
  if (!row) throw new Error("client insert returned no row");
  return toClient(row);
}

/** Both list queries end in this order, which migration 5's index matches. */
const NEWEST_FIRST = "ORDER BY created_at DESC, id";

const SEARCH = "WHERE lower(name) LIKE $1 OR lower(coalesce(email, '')) LIKE $1 OR ($2::text <> '' AND phone LIKE $2)";

/**
 * The unfiltered list (the common case): a page read from the index, with the total as a one-off subquery: `count(*) OVER ()` would read,
 * count and sort every row for each page. Named, so each pooled connection plans it once.
 */
export const CLIENT_PAGE_QUERY = {
  name: "clients.page",
  text: `SELECT ${COLUMNS}, (SELECT count(*) FROM clients) AS total FROM clients ${NEWEST_FIRST} LIMIT $1 OFFSET $2`,
};

/** A substring search reads every row anyway, so counting the matches in the same pass is free. */
const SEARCH_PAGE = `SELECT ${COLUMNS}, count(*) OVER () AS total FROM clients ${SEARCH} ${NEWEST_FIRST} LIMIT $3 OFFSET $4`;

/** Lists clients, newest first, optionally filtered by a search term. */
export async function listClients(db: Db, page: number, pageSize: number, q?: string): Promise<{ items: Client[]; total: number }> {
  const offset = (page - 1) * pageSize;
  const digits = q?.replace(/\D/g, "") ?? "";
  const search = q === undefined ? undefined : [likeTerm(q), digits === "" ? "" : `%${digits}%`];
  const { rows } = search === undefined
    ? await db.query<ClientRow & { total: string }>({ ...CLIENT_PAGE_QUERY, values: [pageSize, offset] })
    : await db.query<ClientRow & { total: string }>(SEARCH_PAGE, [...search, pageSize, offset]);
  const first = rows[0];
  if (first) return { items: rows.map(toClient), total: Number(first.total) };
  if (offset === 0) return { items: [], total: 0 };
  // Past the last page no row carries the total.
  const counted = search === undefined
    ? await db.query<{ total: string }>("SELECT count(*) AS total FROM clients")
    : await db.query<{ total: string }>(`SELECT count(*) AS total FROM clients ${SEARCH}`, search);
  return { items: [], total: Number(counted.rows[0]?.total ?? 0) };
}

/** Finds a client by id. */
export async function findClient(db: Db, id: string): Promise<Client | undefined> {
  const { rows } = await db.query<ClientRow>(`SELECT ${COLUMNS} FROM clients WHERE id = $1`, [id]);
  return rows[0] ? toClient(rows[0]) : undefined;
}

/** Finds clients by normalized phone (the kiosk's lookup). */
export async function findClientsByPhone(db: Db, phone: string): Promise<Client[]> {
  const { rows } = await db.query<ClientRow>(`SELECT ${COLUMNS} FROM clients WHERE phone = $1 ORDER BY name LIMIT 20`, [phone]);
  return rows.map(toClient);
}

/** Updates the given fields; returns the client or undefined when absent. */
export async function updateClient(db: Db, id: string, changes: { name?: string | undefined; phone?: string | undefined; email?: string | null | undefined }): Promise<Client | undefined> {
  const { rows } = await db.query<ClientRow>(
    `UPDATE clients SET name = coalesce($2, name), phone = coalesce($3, phone),
       email = CASE WHEN $4 THEN $5 ELSE email END, updated_at = now()
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, changes.name ?? null, changes.phone ?? null, changes.email !== undefined, changes.email ?? null],
  );
  return rows[0] ? toClient(rows[0]) : undefined;
}

/** Deletes a client; returns whether one existed. */
export async function deleteClient(db: Db, id: string): Promise<boolean> {
  const result = await db.query("DELETE FROM clients WHERE id = $1", [id]);
  return (result.rowCount ?? 0) > 0;
}
