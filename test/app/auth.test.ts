import { parseOptions } from "@node-rs/argon2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARGON2_OPTIONS, hashPassword, isCommonPassword, MAX_PASSWORD_LENGTH, passwordProblems } from "../../app/src/auth/password";
import { backoffSeconds } from "../../app/src/auth/throttle";
import { randomBytes, randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { keyIdOf, signAccessToken, TokenRejected, verifyAccessToken, type TokenSettings } from "../../app/src/auth/tokens";
import { startTestApi, strongPassword, type TestApi } from "./helpers";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
}, 60_000);
afterAll(async () => {
  await api?.close();
});

function decode(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}

describe("password hashing", () => {
  it("hashes with argon2id at or above OWASP's minimum when a password is stored", async () => {
    const stored = await hashPassword("Any!Passw0rd-here");
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const parsed = parseOptions(stored);
    expect(parsed.memoryCost).toBeGreaterThanOrEqual(19_456);
    expect(parsed.timeCost).toBeGreaterThanOrEqual(2);
    expect(parsed.parallelism).toBe(1);
    expect(ARGON2_OPTIONS).toMatchObject({ memoryCost: 19_456, timeCost: 2, parallelism: 1, algorithm: 2 });
  });

  it("stores argon2id hashes in the users table when an admin creates a user", async () => {
    const admin = await api.loginAs("admin");
    const reply = await api.call("/users", { token: admin.token, json: { email: "hashcheck@example.com", role: "staff", password: strongPassword() } });
    expect(reply.status).toBe(201);
    const { rows } = await api.ownerPool.query<{ password_hash: string }>("SELECT password_hash FROM users WHERE email = 'hashcheck@example.com'");
    expect(rows[0]?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });
});

describe("password policy", () => {
  it.each([
    ["short1!A", "must be at least 12 characters"],
    ["alllowercase1!x", "must contain an uppercase letter"],
    ["ALLUPPERCASE1!X", "must contain a lowercase letter"],
    ["NoDigitsHere!!x", "must contain a digit"],
    ["NoSymbols123abc", "must contain one of !@#$%^&*()"],
    ["Password123!", "is a commonly used password"],
    ["Sunshine2024!!", "is a commonly used password"],
    [`Aa1!${"x".repeat(MAX_PASSWORD_LENGTH)}`, `must be at most ${MAX_PASSWORD_LENGTH} characters`],
  ])("refuses %s because it %s", (password, problem) => {
    expect(passwordProblems(password)).toContain(problem);
  });

  it("accepts a long mixed password when it is not common", () => {
    expect(passwordProblems("Violet#Anchor9Tram")).toEqual([]);
  });

  it("refuses a password containing the account's email name", () => {
    expect(passwordProblems("Ada.Lovelace#2024x", "ada.lovelace@example.com")).toContain("must not contain the account's email name");
  });

  it("knows the bundled common-password list when checking words", () => {
    expect(isCommonPassword("qwerty")).toBe(true);
    expect(isCommonPassword("Q7#vz!Lm2@pR")).toBe(false);
  });
});

describe("tokens", () => {
  const settingsWith = (signingKey: Uint8Array): TokenSettings => ({ signingKey, issuer: "krc-test", audience: "krc-api", ttlSeconds: 900 });
  const claims = { userId: randomUUID(), sessionId: randomUUID() };
  const inTenMinutes = () => new Date(Date.now() + 600_000);

  it("verifies each token against its own key when two signing keys are in use alternately", async () => {
    const a = settingsWith(randomBytes(32));
    const b = settingsWith(randomBytes(32));
    const tokenA = await signAccessToken(a, claims, inTenMinutes());
    const tokenB = await signAccessToken(b, claims, inTenMinutes());
    for (let round = 0; round < 2; round++) {
      expect(await verifyAccessToken(a, tokenA)).toEqual(claims);
      expect(await verifyAccessToken(b, tokenB)).toEqual(claims);
      await expect(verifyAccessToken(a, tokenB)).rejects.toThrow(new TokenRejected("unknown key id"));
      await expect(verifyAccessToken(b, tokenA)).rejects.toThrow(new TokenRejected("unknown key id"));
    }
  });

  it("rejects a token that names the right key id but is signed with another key", async () => {
    const real = settingsWith(randomBytes(32));
    await verifyAccessToken(real, await signAccessToken(real, claims, inTenMinutes()));
    const forged = await new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: keyIdOf(real.signingKey) })
      .setSubject(claims.userId).setIssuer(real.issuer).setAudience(real.audience).setIssuedAt().setExpirationTime("10m")
      .sign(randomBytes(32));
    await expect(verifyAccessToken(real, forged)).rejects.toThrow(new TokenRejected("ERR_JWS_SIGNATURE_VERIFICATION_FAILED"));
  });

  it("issues HS256 tokens with kid, iss, aud and at most 15 minutes of life", async () => {
    const user = await api.loginAs("staff");
    const [header, payload] = user.token.split(".");
    expect(decode(header)).toEqual({ alg: "HS256", typ: "JWT", kid: keyIdOf(api.config.jwt.signingKey) });
    const claims = decode(payload);
    expect(claims).toMatchObject({ sub: user.id, iss: api.config.jwt.issuer, aud: api.config.jwt.audience });
    expect(Number(claims.exp) - Number(claims.iat)).toBeLessThanOrEqual(900);
    expect(typeof claims.sid).toBe("string");
  });

  it("fails a token at once when the user logs out", async () => {
    const user = await api.loginAs("staff");
    expect((await api.call("/auth/me", { token: user.token })).status).toBe(200);
    expect((await api.call("/auth/logout", { method: "POST", token: user.token })).status).toBe(204);
    expect((await api.call("/auth/me", { token: user.token })).status).toBe(401);
  });

  it("fails every token of a user when the password changes, and the new token works", async () => {
    const user = await api.loginAs("staff");
    const second = await api.login(user.email, user.password);
    const newPassword = strongPassword();
    const change = await api.call("/auth/password", { token: user.token, json: { currentPassword: user.password, newPassword } });
    expect(change.status).toBe(200);
    expect((await api.call("/auth/me", { token: user.token })).status).toBe(401);
    expect((await api.call("/auth/me", { token: second })).status).toBe(401);
    expect((await api.call("/auth/me", { token: String(change.body.token) })).status).toBe(200);
    expect(await api.login(user.email, newPassword)).toMatch(/\./);
  });

  it("fails a user's tokens at once when an admin disables the user, and login is refused", async () => {
    const admin = await api.loginAs("admin");
    const user = await api.loginAs("staff");
    expect((await api.call(`/users/${user.id}/disable`, { method: "POST", token: admin.token })).status).toBe(200);
    expect((await api.call("/auth/me", { token: user.token })).status).toBe(401);
    const login = await api.call("/auth/login", { json: { email: user.email, password: user.password }, headers: { "x-forwarded-for": "198.51.100.240" } });
    expect(login.status).toBe(401);
    expect((await api.call(`/users/${user.id}/enable`, { method: "POST", token: admin.token })).status).toBe(200);
    expect(await api.login(user.email, user.password)).toMatch(/\./);
  });

  it("fails every session of every user when an admin revokes all sessions", async () => {
    const admin = await api.loginAs("admin");
    const staff = await api.loginAs("staff");
    const kiosk = await api.loginAs("kiosk");
    const reply = await api.call("/auth/revoke-all", { method: "POST", token: admin.token });
    expect(reply.status).toBe(200);
    expect(Number(reply.body.revokedSessions)).toBeGreaterThanOrEqual(3);
    for (const token of [admin.token, staff.token, kiosk.token]) expect((await api.call("/auth/me", { token })).status).toBe(401);
  });

  it("fails one user's sessions when an admin revokes that user's sessions", async () => {
    const admin = await api.loginAs("admin");
    const staff = await api.loginAs("staff");
    const reply = await api.call(`/users/${staff.id}/revoke-sessions`, { method: "POST", token: admin.token });
    expect(reply.body).toEqual({ revokedSessions: 1 });
    expect((await api.call("/auth/me", { token: staff.token })).status).toBe(401);
    expect((await api.call("/auth/me", { token: admin.token })).status).toBe(200);
  });
});

describe("forced password change", () => {
  it("allows only me, password change and logout until the password is changed", async () => {
    const user = await api.createUser("admin", { mustChangePassword: true });
    const token = await api.login(user.email, user.password);
    expect((await api.call("/auth/me", { token })).body.mustChangePassword).toBe(true);
    const blocked = await api.call("/clients", { token });
    expect(blocked.status).toBe(403);
    expect(blocked.body.error.code).toBe("password_change_required");
    const weak = await api.call("/auth/password", { token, json: { currentPassword: user.password, newPassword: "password" } });
    expect(weak.status).toBe(400);
    const same = await api.call("/auth/password", { token, json: { currentPassword: user.password, newPassword: user.password } });
    expect(same.status).toBe(400);
    const changed = await api.call("/auth/password", { token, json: { currentPassword: user.password, newPassword: strongPassword() } });
    expect(changed.status).toBe(200);
    const fresh = String(changed.body.token);
    expect((await api.call("/auth/me", { token: fresh })).body.mustChangePassword).toBe(false);
    expect((await api.call("/clients", { token: fresh })).status).toBe(200);
  });
});

describe("rate limiting", () => {
  it("allows 5 logins per minute per client address and answers the 6th with 429 and Retry-After", async () => {
    const user = await api.createUser("staff");
    const attempt = (forged: string) =>
      api.call("/auth/login", { json: { email: user.email, password: user.password }, headers: { "x-forwarded-for": `${forged}, 192.0.2.10` } });
    for (let i = 0; i < 5; i++) expect((await attempt(`10.0.0.${i}`)).status).toBe(200);
    const sixth = await attempt("10.9.9.9");
    expect(sixth.status).toBe(429);
    expect(Number(sixth.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(sixth.headers["retry-after"])).toBeLessThanOrEqual(60);
    // Another real client address (what Caddy appends) has its own budget.
    const other = await api.call("/auth/login", { json: { email: user.email, password: user.password }, headers: { "x-forwarded-for": "192.0.2.11" } });
    expect(other.status).toBe(200);
  });

  it("does not spend another address's budget when a client names that address in X-Forwarded-For", async () => {
    const user = await api.createUser("staff");
    // The attacker is 192.0.2.31 (what the proxy appends) and pretends to be 192.0.2.30.
    for (let i = 0; i < 6; i++) {
      await api.call("/auth/login", { json: { email: `x${i}@example.com`, password: "Wrong!Passw0rd-1" }, headers: { "x-forwarded-for": "192.0.2.30, 192.0.2.31" } });
    }
    const victim = await api.call("/auth/login", { json: { email: user.email, password: user.password }, headers: { "x-forwarded-for": "192.0.2.30" } });
    expect(victim.status).toBe(200);
  });

  it("backs an account off after repeated failures from different addresses, without hashing", async () => {
    const user = await api.createUser("staff");
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const reply = await api.call("/auth/login", { json: { email: user.email, password: "Wrong!Passw0rd-1" }, headers: { "x-forwarded-for": `192.0.2.${100 + i}` } });
      statuses.push(reply.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    // Even the right password waits out the backoff.
    const right = await api.call("/auth/login", { json: { email: user.email, password: user.password }, headers: { "x-forwarded-for": "192.0.2.120" } });
    expect(right.status).toBe(429);
    expect(Number(right.headers["retry-after"])).toBeGreaterThanOrEqual(1);
  });

  it("doubles the backoff per failure up to 15 minutes", () => {
    expect([1, 2, 3, 4, 5, 12, 30].map(backoffSeconds)).toEqual([0, 0, 5, 10, 20, 900, 900]);
  });
});
