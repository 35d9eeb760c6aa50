import { Writable } from "node:stream";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../app/src/logger";
import { signHeaders } from "../../app/src/webhooks/signature";
import { startTestApi, strongPassword, type TestApi } from "./helpers";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ LOG_LEVEL: "debug" });
}, 60_000);
afterAll(async () => {
  await api?.close();
});

describe("structured logs", () => {
  it("never contain a password, token or secret after logins, password changes and webhooks", async () => {
    const user = await api.loginAs("staff");
    const newPassword = strongPassword();
    const changed = await api.call("/auth/password", { token: user.token, json: { currentPassword: user.password, newPassword } });
    await api.call("/auth/login", { json: { email: user.email, password: "Wrong!Passw0rd-9" }, headers: { "x-forwarded-for": "192.0.2.90" } });
    await api.call("/auth/me", { token: `${user.token}x` });
    const body = JSON.stringify({ event: "client.create", data: { name: "Log Check", phone: "6615550155" } });
    const headers = signHeaders(api.config.zapier.hmacSecret, randomUUID(), Buffer.from(body));
    await api.call("/webhooks/zapier", { method: "POST", raw: body, headers: { "content-type": "application/json", ...headers } });

    const text = api.logs.join("\n");
    expect(api.logs.length).toBeGreaterThan(5);
    for (const line of api.logs) expect(() => JSON.parse(line)).not.toThrow();
    const forbidden = [user.password, newPassword, "Wrong!Passw0rd-9", user.token, String(changed.body.token), headers["x-krc-signature"] ?? "", Buffer.from(api.config.jwt.signingKey).toString(), Buffer.from(api.config.zapier.hmacSecret).toString(), api.pg.app.password];
    for (const secret of forbidden) expect(text).not.toContain(secret);
    expect(text).toContain('"msg":"audit auth.login success"');
    expect(text).toContain('"reason":"bad_password"');
  });

  it("redacts secret-named fields even when code logs them by mistake", () => {
    const lines: string[] = [];
    const logger = createLogger("info", new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
    logger.info({ password: "p1", body: { newPassword: "p2", token: "t1" }, req: { headers: { authorization: "Bearer t2", cookie: "c" } } }, "oops");
    const line = lines.join("");
    for (const value of ["p1", "p2", "t1", "Bearer t2", '"c"']) expect(line).not.toContain(value);
    expect(line).toContain("[redacted]");
  });

  it("answers an unexpected failure with a generic 500 and keeps details in the log", async () => {
    const staff = await api.loginAs("staff");
    await api.ownerPool.query("ALTER TABLE clients RENAME TO clients_moved");
    try {
      const reply = await api.call("/clients", { token: staff.token });
      expect(reply.status).toBe(500);
      expect(reply.body).toEqual({ error: { code: "internal", message: "Internal server error" } });
      expect(api.logs.join("\n")).toContain('relation \\"clients\\" does not exist');
    } finally {
      await api.ownerPool.query("ALTER TABLE clients_moved RENAME TO clients");
    }
  });
});
