import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
}, 60_000);
afterAll(async () => {
  await api?.close();
});

describe("health", () => {
  it("answers 200 on /healthz when the process is up", async () => {
    const reply = await api.call("/healthz");
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ status: "ok" });
  });

  it("answers 200 on /readyz when the database is reachable", async () => {
    const reply = await api.call("/readyz");
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ status: "ready" });
  });
});

describe("login and clients", () => {
  it("logs in with the right password and returns a JWT that /auth/me accepts", async () => {
    const user = await api.createUser("staff");
    const login = await api.call("/auth/login", { json: { email: user.email, password: user.password }, headers: { "x-forwarded-for": "198.51.100.201" } });
    expect(login.status).toBe(200);
    expect(String(login.body.token).split(".")).toHaveLength(3);
    expect(login.body.tokenType).toBe("Bearer");
    const me = await api.call("/auth/me", { token: String(login.body.token) });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ id: user.id, email: user.email, role: "staff", mustChangePassword: false });
  });

  it("refuses a wrong password with 401 invalid_credentials", async () => {
    const user = await api.createUser("staff");
    const reply = await api.call("/auth/login", { json: { email: user.email, password: "Wrong-password-1!" }, headers: { "x-forwarded-for": "198.51.100.202" } });
    expect(reply.status).toBe(401);
    expect(reply.body.error.code).toBe("invalid_credentials");
  });

  it("creates, reads, lists, updates and deletes a client when staff and admin act", async () => {
    const staff = await api.loginAs("staff");
    const admin = await api.loginAs("admin");
    const created = await api.call("/clients", { token: staff.token, json: { name: "Ada Lovelace", email: "Ada@Example.com", phone: "+1 (661) 555-0100" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "Ada Lovelace", email: "ada@example.com", phone: "6615550100" });
    const id = String(created.body.id);

    const read = await api.call(`/clients/${id}`, { token: staff.token });
    expect(read.status).toBe(200);
    expect(read.body.phone).toBe("6615550100");

    const list = await api.call("/clients?q=lovelace", { token: staff.token });
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(1);

    const updated = await api.call(`/clients/${id}`, { method: "PATCH", token: staff.token, json: { phone: "661-555-0199" } });
    expect(updated.status).toBe(200);
    expect(updated.body.phone).toBe("6615550199");

    const staffDelete = await api.call(`/clients/${id}`, { method: "DELETE", token: staff.token });
    expect(staffDelete.status).toBe(403);
    const deleted = await api.call(`/clients/${id}`, { method: "DELETE", token: admin.token });
    expect(deleted.status).toBe(204);
    expect((await api.call(`/clients/${id}`, { token: staff.token })).status).toBe(404);
  });

  it("rejects an invalid phone with 400 naming the field and what is accepted", async () => {
    const staff = await api.loginAs("staff");
    const reply = await api.call("/clients", { token: staff.token, json: { name: "Bob", phone: "555-01" } });
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe("validation_failed");
    expect(reply.body.error.details[0]).toMatchObject({ field: "body.phone", rule: "phone", message: "must be a 10-digit US number; spaces, dashes, parentheses and a leading +1 are allowed" });
  });

  it("stores script and SQL payloads as plain data and returns them as JSON that no browser runs", async () => {
    const staff = await api.loginAs("staff");
    const name = `<script>alert("x")</script>'); DROP TABLE clients;--`;
    const created = await api.call("/clients", { token: staff.token, json: { name, phone: "6615550160" } });
    expect(created.status).toBe(201);
    const read = await api.call(`/clients/${created.body.id}`, { token: staff.token });
    expect(read.body.name).toBe(name);
    expect(read.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(read.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(read.headers["x-content-type-options"]).toBe("nosniff");
    const { rows } = await api.ownerPool.query("SELECT count(*)::int AS n FROM clients");
    expect(rows[0].n).toBeGreaterThan(0);
  });

  it("pages and searches clients by name, email and phone digits", async () => {
    const staff = await api.loginAs("staff");
    for (const [i, name] of ["Page One", "Page Two", "Page Three"].entries()) {
      await api.call("/clients", { token: staff.token, json: { name, phone: `661555030${i}`, email: `page${i}@paging.example` } });
    }
    const first = await api.call("/clients?q=page&pageSize=2&page=1", { token: staff.token });
    expect(first.body).toMatchObject({ total: 3, page: 1, pageSize: 2 });
    expect(first.body.items).toHaveLength(2);
    const second = await api.call("/clients?q=page&pageSize=2&page=2", { token: staff.token });
    expect(second.body.items).toHaveLength(1);
    expect((await api.call("/clients?q=paging.example", { token: staff.token })).body.total).toBe(3);
    expect((await api.call("/clients?q=555-0301", { token: staff.token })).body.total).toBe(1);
  });

  it("records a check-in by staff and lists it for the client", async () => {
    const staff = await api.loginAs("staff");
    const client = await api.call("/clients", { token: staff.token, json: { name: "Visitor", phone: "6615550170" } });
    const checkin = await api.call("/checkins", { token: staff.token, json: { clientId: client.body.id } });
    expect(checkin.status).toBe(201);
    expect(checkin.body).toMatchObject({ clientId: client.body.id, source: "staff", recordedBy: staff.id });
    const list = await api.call(`/clients/${client.body.id}/checkins`, { token: staff.token });
    expect(list.body.total).toBe(1);
  });

  it("answers 404 with a JSON error for an unknown route", async () => {
    const reply = await api.call("/nope");
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({ error: { code: "not_found", message: "No such route" } });
  });
});

describe("headers", () => {
  it("sends security headers and no X-Powered-By", async () => {
    const reply = await api.call("/healthz");
    expect(reply.headers["x-powered-by"]).toBeUndefined();
    expect(reply.headers["x-content-type-options"]).toBe("nosniff");
    expect(reply.headers["x-frame-options"]).toBe("DENY");
    expect(reply.headers["content-security-policy"]).toBe("default-src 'none';frame-ancestors 'none'");
    expect(reply.headers["cache-control"]).toBe("no-store");
  });

  it("sends CORS headers only to an allowed origin and still answers others", async () => {
    const allowed = await api.call("/healthz", { headers: { origin: "https://kiosk.krc.localhost" } });
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://kiosk.krc.localhost");
    const other = await api.call("/healthz", { headers: { origin: "https://evil.example" } });
    expect(other.status).toBe(200);
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    const none = await api.call("/healthz");
    expect(none.status).toBe(200);
    expect(none.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("answers a CORS preflight for an allowed origin and gives a disallowed one no CORS headers", async () => {
    const preflight = (origin: string) =>
      api.call("/clients", { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" } });
    const allowed = await preflight("https://kiosk.krc.localhost");
    expect(allowed.status).toBe(204);
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://kiosk.krc.localhost");
    expect(allowed.headers["access-control-allow-methods"]).toBe("GET,POST,PATCH,DELETE");
    expect(allowed.headers["access-control-allow-credentials"]).toBeUndefined();
    const denied = await preflight("https://evil.example");
    // Not an error: Express's own OPTIONS answer, without any CORS header for the browser to use.
    expect(denied.status).toBe(200);
    expect(denied.headers["access-control-allow-origin"]).toBeUndefined();
    expect(denied.headers["access-control-allow-methods"]).toBeUndefined();
  });

  it("rejects a host that is not listed without echoing it", async () => {
    const reply = await api.call("/healthz", { headers: { host: "evil.example" } });
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe("host_not_allowed");
    expect(reply.text).not.toContain("evil.example");
  });
});
