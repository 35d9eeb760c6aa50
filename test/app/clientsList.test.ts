import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_PAGE_QUERY } from "../../app/src/clients/repository";
import { startTestApi, type TestApi } from "./helpers";

const ROWS = 3000;
let api: TestApi;
let token: string;

beforeAll(async () => {
  api = await startTestApi();
  token = (await api.loginAs("staff")).token;
  // Timestamps one second apart, and pairs sharing one, so the id tie-break is exercised too.
  await api.ownerPool.query(
    `INSERT INTO clients (name, phone, email, created_at)
     SELECT 'Bulk ' || g, lpad((6610000000 + g)::text, 10, '0'), 'bulk' || g || '@list.example', now() - (g / 2) * interval '1 second'
     FROM generate_series(1, $1::int) g`,
    [ROWS],
  );
  await api.ownerPool.query("INSERT INTO clients (name, phone) SELECT 'Needle ' || g, '6619990000' FROM generate_series(1, 7) g");
  await api.ownerPool.query("ANALYZE clients");
}, 60_000);

afterAll(async () => {
  await api?.close();
});

describe("GET /clients paging", () => {
  it("returns pages newest first with ties broken by id and the exact total when unfiltered", async () => {
    const { rows } = await api.ownerPool.query<{ id: string }>("SELECT id FROM clients ORDER BY created_at DESC, id");
    const first = await api.call("/clients?pageSize=100&page=1", { token });
    const third = await api.call("/clients?pageSize=100&page=3", { token });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ total: rows.length, page: 1, pageSize: 100 });
    expect(Object.values(first.body.items).map((c) => c.id)).toEqual(rows.slice(0, 100).map((r) => r.id));
    expect(Object.values(third.body.items).map((c) => c.id)).toEqual(rows.slice(200, 300).map((r) => r.id));
    expect(third.body.total).toBe(rows.length);
  });

  it("returns no items and still the exact total when the page lies past the end", async () => {
    const { rows } = await api.ownerPool.query<{ n: number }>("SELECT count(*)::int AS n FROM clients");
    const past = await api.call("/clients?pageSize=100&page=1000", { token });
    expect(past.status).toBe(200);
    expect(past.body).toMatchObject({ items: [], total: rows[0]?.n, page: 1000 });
    const search = await api.call("/clients?q=list.example&pageSize=100&page=1000", { token });
    expect(search.body).toMatchObject({ items: [], total: ROWS });
  });

  it("counts only the matches when searching", async () => {
    const reply = await api.call("/clients?q=NEEDLE&pageSize=5", { token });
    expect(reply.body.total).toBe(7);
    expect(Object.values(reply.body.items)).toHaveLength(5);
  });

  it("reads an unfiltered page from the list-order index without sorting or scanning the table for it", async () => {
    const { rows } = await api.ownerPool.query<{ "QUERY PLAN": string }>(`EXPLAIN ${CLIENT_PAGE_QUERY.text}`, [50, 0]);
    const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
    expect(plan).toContain("Index Scan using clients_created_at_id_idx on clients");
    expect(plan).not.toMatch(/Sort|WindowAgg/);
  });

  it("keeps the unfiltered page's plan on the index when the statement is planned generically", async () => {
    const client = await api.ownerPool.connect();
    try {
      await client.query("SET plan_cache_mode = force_generic_plan");
      await client.query(`PREPARE list_page(int, int) AS ${CLIENT_PAGE_QUERY.text}`);
      const { rows } = await client.query<{ "QUERY PLAN": string }>("EXPLAIN EXECUTE list_page(50, 0)");
      expect(rows.map((r) => r["QUERY PLAN"]).join("\n")).toContain("Index Scan using clients_created_at_id_idx");
    } finally {
      await client.query("DEALLOCATE ALL; RESET plan_cache_mode");
      client.release();
    }
  });
});
