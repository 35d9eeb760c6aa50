import { describe, expect, it } from "vitest";
import { isNoNewPrivileges, isPinnedByDigest, isRootUser, isSecretEnvName, normalizeCapability, secretValueReason } from "../../policy/requirements";

describe("requirements", () => {
  it.each([
    ["POSTGRES_PASSWORD", true],
    ["JWT_SIGNING_KEY", true],
    ["ZAPIER_HMAC_SECRET", true],
    ["API_TOKEN", true],
    ["SECRET_KEY_FILE", false],
    ["POSTGRES_PASSWORD_FILE", false],
    ["GPG_KEYS", false],
    ["BYPASS_CACHE", false],
    ["JWT_ISSUER", false],
  ])("classifies %s as secret-named = %s", (name, expected) => {
    expect(isSecretEnvName(name)).toBe(expected);
  });

  it.each([
    ["hex key material", "4f".repeat(32), /hex/],
    ["base64 key material", "q2Vh1pZ3mN8rT5wX0yB6cD9eF4gH7jK2lM+/AbCdEf=", /base64/],
    ["a PEM key", "-----BEGIN PRIVATE KEY-----\nabc", /PEM/],
    ["a JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", /JSON Web Token/],
    ["a URL with a password", "postgres://u:p@h/db", /URL/],
  ])("flags %s as a secret-looking value", (_what, value, reason) => {
    expect(secretValueReason(value)).toMatch(reason);
  });

  it.each(["/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "https://krc.example.com,https://kiosk.example.com", "20.19.0", "/run/secrets/jwt_signing_key", "info"])(
    "does not flag the ordinary value %s",
    (value) => {
      expect(secretValueReason(value)).toBeUndefined();
    },
  );

  it.each([
    ["", true],
    ["0", true],
    ["root", true],
    ["0:0", true],
    ["999:999", false],
    ["node", false],
  ])("reads user %j as root = %s", (user, expected) => {
    expect(isRootUser(user)).toBe(expected);
  });

  it("accepts every spelling of no-new-privileges and normalizes CAP_ prefixes when comparing", () => {
    expect(["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"].every(isNoNewPrivileges)).toBe(true);
    expect(isNoNewPrivileges("no-new-privileges:false")).toBe(false);
    expect(normalizeCapability("cap_net_bind_service")).toBe("NET_BIND_SERVICE");
  });

  it("accepts only full sha256 digests as pinned", () => {
    expect(isPinnedByDigest(`postgres:17@sha256:${"0".repeat(64)}`)).toBe(true);
    expect(isPinnedByDigest("postgres:17")).toBe(false);
    expect(isPinnedByDigest("postgres@sha256:abc")).toBe(false);
  });
});
