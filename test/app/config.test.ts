import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, readSecretFile } from "../../app/src/config";

let dir: string;
let env: Record<string, string>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "krc-config-"));
  const file = (name: string, value: string) => {
    writeFileSync(join(dir, name), value);
    return join(dir, name);
  };
  env = {
    DATABASE_HOST: "db",
    DATABASE_NAME: "krc",
    DATABASE_USER: "krc_app",
    DATABASE_PASSWORD_FILE: file("db", "pw\n"),
    JWT_SIGNING_KEY_FILE: file("jwt", "a".repeat(64)),
    SECRET_KEY_FILE: file("secret", "b".repeat(64)),
    ZAPIER_HMAC_SECRET_FILE: file("zapier", "c".repeat(44)),
    JWT_ISSUER: "https://api.example.com",
    JWT_AUDIENCE: "krc-api",
    ALLOWED_HOSTS: "api.example.com,kiosk.example.com",
    CORS_ORIGINS: "https://api.example.com,https://kiosk.example.com",
  };
  file("short", "too-short");
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loadConfig", () => {
  it("builds a frozen config with defaults when every variable is valid", () => {
    const config = loadConfig(env);
    expect(Object.isFrozen(config)).toBe(true);
    expect(config).toMatchObject({ port: 8080, trustProxyHops: 1, logLevel: "info", allowedHosts: ["api.example.com", "kiosk.example.com"] });
    expect(config.database.password).toBe("pw");
    expect(config.jwt.ttlSeconds).toBe(900);
    expect(config.outbox).toEqual({ pollMs: 2000, leaseSeconds: 60, maxAttempts: 8 });
    expect(config.zapier.outboundUrls).toEqual([]);
  });

  it.each([
    [{ ALLOWED_HOSTS: "" }, 'ALLOWED_HOSTS must list at least one hostname; got []'],
    [{ ALLOWED_HOSTS: "api.example.com,*.example.com" }, 'ALLOWED_HOSTS (item 1) must be a lowercase hostname; got ["api.example.com","*.example.com"]'],
    [{ CORS_ORIGINS: "*" }, 'CORS_ORIGINS (item 0) must be an origin such as https://crm.example.com (scheme, host, optional port; no path, no wildcard); got ["*"]'],
    [{ CORS_ORIGINS: "https://a.example.com/path" }, "CORS_ORIGINS (item 0) must be an origin"],
    [{ ZAPIER_OUTBOUND_URLS: "http://hooks.example.com/x" }, "ZAPIER_OUTBOUND_URLS (item 0) must be an https URL (http only to 127.0.0.1, [::1] or localhost)"],
    [{ JWT_TTL_SECONDS: "3600" }, "JWT_TTL_SECONDS must be at most 900 (15 minutes)"],
    [{ DATABASE_SSLMODE: "prefer" }, 'DATABASE_SSLMODE must be disable or verify-full; got "prefer"'],
    [{ JWT_ISSUER: "" }, 'JWT_ISSUER must be set; got ""'],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
  ])("names the variable and the rule when %j", (override, message) => {
    expect(() => loadConfig({ ...env, ...override })).toThrow(message);
  });

  it("reads outbound URLs from ZAPIER_OUTBOUND_URLS_FILE, one per line", () => {
    writeFileSync(join(dir, "urls"), "https://hooks.example.com/a\nhttps://hooks.example.com/b\n");
    expect(loadConfig({ ...env, ZAPIER_OUTBOUND_URLS_FILE: join(dir, "urls") }).zapier.outboundUrls).toEqual(["https://hooks.example.com/a", "https://hooks.example.com/b"]);
  });

  it("names the line but never the content when ZAPIER_OUTBOUND_URLS_FILE holds a bad URL", () => {
    writeFileSync(join(dir, "bad-urls"), "https://hooks.example.com/a\nhttp://hooks.example.com/s3cret\n");
    const load = () => loadConfig({ ...env, ZAPIER_OUTBOUND_URLS_FILE: join(dir, "bad-urls") });
    expect(load).toThrow("ZAPIER_OUTBOUND_URLS_FILE (line 2) must be an https URL (http only to 127.0.0.1, [::1] or localhost); content withheld");
    expect(load).not.toThrow(/s3cret/);
  });

  it("refuses both ZAPIER_OUTBOUND_URLS and ZAPIER_OUTBOUND_URLS_FILE", () => {
    writeFileSync(join(dir, "urls"), "https://hooks.example.com/a\n");
    expect(() => loadConfig({ ...env, ZAPIER_OUTBOUND_URLS: "https://hooks.example.com/a", ZAPIER_OUTBOUND_URLS_FILE: join(dir, "urls") })).toThrow(
      "ZAPIER_OUTBOUND_URLS and ZAPIER_OUTBOUND_URLS_FILE are both set; set one of them",
    );
  });

  it("refuses a signing key shorter than 32 bytes and names the variable", () => {
    expect(() => loadConfig({ ...env, JWT_SIGNING_KEY_FILE: join(dir, "short") })).toThrow("JWT_SIGNING_KEY_FILE holds 9 bytes; at least 32 are required");
  });
});

describe("readSecretFile", () => {
  it("names the variable when it is not set", () => {
    expect(() => readSecretFile({}, "SECRET_KEY_FILE")).toThrow("SECRET_KEY_FILE is not set: it must be the path of a file holding the secret");
  });

  it("names the variable and path when the file is missing, and never shows content", () => {
    expect(() => readSecretFile({ X_FILE: join(dir, "missing") }, "X_FILE")).toThrow(`X_FILE points to ${join(dir, "missing")}, which cannot be read (ENOENT)`);
  });

  it("names the variable and path when the file is empty", () => {
    writeFileSync(join(dir, "empty"), "\n");
    expect(() => readSecretFile({ X_FILE: join(dir, "empty") }, "X_FILE")).toThrow(`X_FILE points to ${join(dir, "empty")}, which is empty`);
  });

  it("keeps inner whitespace and drops only the trailing newline", () => {
    writeFileSync(join(dir, "spaced"), " a b \n");
    expect(readSecretFile({ X_FILE: join(dir, "spaced") }, "X_FILE")).toBe(" a b ");
  });
});
