import type { Pool, PoolClient } from "pg";
import type { Logger } from "pino";
import type { AppConfig } from "./config";

/** What the app is built from: tests build it with their own database and log destination. */
export interface AppDeps {
  readonly config: AppConfig;
  readonly pool: Pool;
  readonly logger: Logger;
}

/** Anything that runs parameterized SQL: the pool or a client inside a transaction. */
export type Db = Pick<Pool | PoolClient, "query">;

/** Runs `work` between BEGIN and COMMIT on `client`; on failure rolls back and rethrows. */
export async function withTransaction<C extends { query(text: string): Promise<unknown> }, T>(client: C, work: (client: C) => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** Runs `work` in one transaction on a dedicated client. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await withTransaction(client, work);
  } finally {
    client.release();
  }
}
