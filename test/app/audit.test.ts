import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_ACTIONS } from "../../app/src/audit/service";
import { startTestApi, type TestApi } from "./helpers";

let api: TestApi;
let admin: { id: string; email: string; token: string };
beforeAll(async () => {
  api = await startTestApi();
  admin = await api.loginAs("admin");
}, 60_000);
afterAll(async () => {
  await api?.close();
});

describe("audit log", () => {
  it("records failed and successful logins, 403s and client changes with who and what", async () => {
    const staff = await api.loginAs("staff");
    await api.call("/auth/login", { json: { email: staff.email, password: "Wrong!Passw0rd-1" }, headers: { "x-forwarded-for": "192.0.2.50" } });
    await api.call("/users", { token: staff.token });
    const created = await api.call("/clients", { token: staff.token, json: { name: "Audit Me", phone: "6615550177" } });
    await api.call(`/clients/${created.body.id}`, { method: "PATCH", token: staff.token, json: { name: "Audited" } });

    const q = (query: string) => api.call(`/audit?${query}`, { token: admin.token });
    const logins = await q(`actorEmail=${encodeURIComponent(staff.email)}&action=auth.login`);
    expect(logins.status).toBe(200);
    expect((logins.body.items as unknown as { outcome: string }[]).map((e) => e.outcome).sort()).toEqual(["failure", "success"]);
    const failure = (logins.body.items as unknown as { outcome: string; ip: string; details: unknown }[]).find((e) => e.outcome === "failure");
    expect(failure).toMatchObject({ ip: "192.0.2.50", details: { reason: "bad_password" } });

    const denied = await q(`action=access.denied&actorId=${staff.id}`);
    expect(denied.body.total).toBe(1);
    expect(denied.body.items[0]).toMatchObject({ outcome: "denied", details: { method: "GET", path: "/users", role: "staff" } });

    const updated = await q(`action=client.updated&targetId=${created.body.id}`);
    expect(updated.body.items[0]).toMatchObject({ actorId: staff.id, details: { changes: { name: { from: "Audit Me", to: "Audited" } } } });
  });

  it("pages newest first and filters by time", async () => {
    const page = await api.call("/audit?pageSize=2&page=1", { token: admin.token });
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(2);
    expect(Number(page.body.total)).toBeGreaterThan(2);
    const later = await api.call(`/audit?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { token: admin.token });
    expect(later.body.total).toBe(0);
  });

  it("lets the app role insert and read audit rows but not update, delete or truncate them", async () => {
    const { rows } = await api.ownerPool.query<{ s: boolean; i: boolean; u: boolean; d: boolean; t: boolean }>(
      `SELECT has_table_privilege($1, 'audit_log', 'SELECT') s, has_table_privilege($1, 'audit_log', 'INSERT') i,
              has_table_privilege($1, 'audit_log', 'UPDATE') u, has_table_privilege($1, 'audit_log', 'DELETE') d,
              has_table_privilege($1, 'audit_log', 'TRUNCATE') t`,
      [api.pg.app.user],
    );
    expect(rows[0]).toEqual({ s: true, i: true, u: false, d: false, t: false });
    await expect(api.appPool.query("UPDATE audit_log SET action = 'x'")).rejects.toMatchObject({ code: "42501" });
    await expect(api.appPool.query("DELETE FROM audit_log")).rejects.toMatchObject({ code: "42501" });
    await expect(api.appPool.query("TRUNCATE audit_log")).rejects.toMatchObject({ code: "42501" });
  });

  it("refuses changes to audit rows even from the owner role", async () => {
    await expect(api.ownerPool.query("DELETE FROM audit_log")).rejects.toThrow("audit_log is append-only");
    await expect(api.ownerPool.query("UPDATE audit_log SET action = 'x'")).rejects.toThrow("audit_log is append-only");
    await expect(api.ownerPool.query("TRUNCATE audit_log")).rejects.toThrow("audit_log is append-only");
  });

  it("leaves the app role unable to create tables or read the migration ledger", async () => {
    await expect(api.appPool.query("CREATE TABLE x (id int)")).rejects.toMatchObject({ code: "42501" });
    await expect(api.appPool.query("SELECT * FROM schema_migrations")).rejects.toMatchObject({ code: "42501" });
  });

  it("refuses an action filter the app never writes with 400 listing the known actions", async () => {
    const reply = await api.call("/audit?action=auth.nope", { token: admin.token });
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe("validation_failed");
    expect(reply.body.error.details[0]).toMatchObject({ field: "query.action", rule: "invalid_value", message: `must be one of: ${AUDIT_ACTIONS.join(", ")}` });
  });

  it("accepts every action the app writes as a filter", async () => {
    for (const action of AUDIT_ACTIONS) {
      const reply = await api.call(`/audit?action=${action}`, { token: admin.token });
      expect(reply.status, action).toBe(200);
    }
  });

  it("audits a login the per-address limiter refuses as a failed login with reason rate_limited", async () => {
    const replies = [];
    for (let i = 0; i < 6; i++) {
      replies.push(await api.call("/auth/login", { json: { email: `limited${i}@example.com`, password: "Wrong!Passw0rd-1" }, headers: { "x-forwarded-for": "192.0.2.99" } }));
    }
    expect(replies.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 429]);
    const audited = await api.call(`/audit?action=auth.login&actorEmail=limited5%40example.com`, { token: admin.token });
    expect(audited.body.items).toEqual([expect.objectContaining({ outcome: "failure", ip: "192.0.2.99", details: { reason: "rate_limited" } })]);
  });

  it("audits an account backoff once, not as rate_limited, when one account fails from many addresses", async () => {
    for (let i = 0; i < 4; i++) {
      await api.call("/auth/login", { json: { email: "backoff@example.com", password: "Wrong!Passw0rd-1" }, headers: { "x-forwarded-for": `192.0.2.${110 + i}` } });
    }
    const audited = await api.call("/audit?action=auth.login&actorEmail=backoff%40example.com", { token: admin.token });
    const reasons = (audited.body.items as unknown as { details: { reason: string } }[]).map((e) => e.details.reason).sort();
    expect(reasons).toEqual(["account_backoff", "unknown_account", "unknown_account", "unknown_account"]);
  });
});
