import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, strongPassword, type TestApi } from "./helpers";

let api: TestApi;
let admin: { id: string; email: string; token: string };
beforeAll(async () => {
  api = await startTestApi();
  admin = await api.loginAs("admin");
}, 60_000);
afterAll(async () => {
  await api?.close();
});

describe("user management", () => {
  it("creates a user who must change the password at first login", async () => {
    const password = strongPassword();
    const reply = await api.call("/users", { token: admin.token, json: { email: "New.Staff@Example.com", role: "staff", password } });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ email: "new.staff@example.com", role: "staff", disabled: false, mustChangePassword: true });
    expect(reply.text).not.toContain("argon2");
    const token = await api.login("new.staff@example.com", password);
    expect((await api.call("/clients", { token })).body.error.code).toBe("password_change_required");
  });

  it("lists, reads, changes the role of and deletes a user", async () => {
    const user = await api.createUser("kiosk");
    const list = await api.call("/users?role=kiosk", { token: admin.token });
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body.items)).toContain(user.id);
    expect((await api.call(`/users/${user.id}`, { token: admin.token })).body.role).toBe("kiosk");
    const promoted = await api.call(`/users/${user.id}`, { method: "PATCH", token: admin.token, json: { role: "staff" } });
    expect(promoted.body.role).toBe("staff");
    expect((await api.call(`/users/${user.id}`, { method: "DELETE", token: admin.token })).status).toBe(204);
    expect((await api.call(`/users/${user.id}`, { token: admin.token })).status).toBe(404);
  });

  it("resets a password, revoking the user's sessions and forcing a change", async () => {
    const user = await api.loginAs("staff");
    const fresh = strongPassword();
    const reset = await api.call(`/users/${user.id}/reset-password`, { token: admin.token, json: { password: fresh } });
    expect(reset.status).toBe(200);
    expect(reset.body.mustChangePassword).toBe(true);
    expect((await api.call("/auth/me", { token: user.token })).status).toBe(401);
    const token = await api.login(user.email, fresh);
    expect((await api.call("/auth/me", { token })).body.mustChangePassword).toBe(true);
  });

  it("refuses to demote the acting admin with 409", async () => {
    const reply = await api.call(`/users/${admin.id}`, { method: "PATCH", token: admin.token, json: { role: "staff" } });
    expect(reply.status).toBe(409);
  });

  it("audits user creation, deletion, disabling and password reset with the acting admin", async () => {
    const user = await api.createUser("staff");
    await api.call(`/users/${user.id}/disable`, { method: "POST", token: admin.token });
    await api.call(`/users/${user.id}/reset-password`, { token: admin.token, json: { password: strongPassword() } });
    await api.call(`/users/${user.id}`, { method: "DELETE", token: admin.token });
    const { rows } = await api.ownerPool.query<{ action: string; actor_id: string }>("SELECT action, actor_id FROM audit_log WHERE target_id = $1 ORDER BY id", [user.id]);
    expect(rows).toEqual([
      { action: "user.disabled", actor_id: admin.id },
      { action: "user.password_reset", actor_id: admin.id },
      { action: "user.deleted", actor_id: admin.id },
    ]);
  });
});
