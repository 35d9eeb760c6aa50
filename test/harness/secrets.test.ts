import { describe, expect, it } from "vitest";
import { containsSecret, isSecretEnvelope, Redactor, SECRET_SIG, secretFields, SIG_KEY, unwrapDeep, wrapFields, wrapSecret } from "../support/harness/secrets";

const secret = (value: unknown): Record<string, unknown> => ({ [SIG_KEY]: SECRET_SIG, value });

describe("secret envelopes", () => {
  it("recognizes only objects carrying the secret signature", () => {
    expect(isSecretEnvelope(secret("x"))).toBe(true);
    expect(isSecretEnvelope({ [SIG_KEY]: "5cf8f73096256a8f31e491e813e4eb8e", value: "x" })).toBe(false);
    expect(isSecretEnvelope({ value: "x" })).toBe(false);
    expect(isSecretEnvelope([secret("x")])).toBe(false);
  });

  it("unwraps nested envelopes and collects their strings", () => {
    const found = new Set<string>();
    const plain = unwrapDeep({ uploads: secret([{ file: "/run/secrets/a", content: "s3cr3t-value" }]), name: "db" }, found);
    expect(plain).toEqual({ uploads: [{ file: "/run/secrets/a", content: "s3cr3t-value" }], name: "db" });
    expect([...found]).toEqual(["s3cr3t-value"]);
  });

  it("finds the top-level fields holding a secret anywhere inside", () => {
    const props = { a: "x", b: [1, { c: secret("y") }], d: secret(1) };
    expect(containsSecret(props.b)).toBe(true);
    expect([...secretFields(props)].sort()).toEqual(["b", "d"]);
  });

  it("wraps only the named fields, once", () => {
    const out = wrapFields({ a: "x", b: "y", c: undefined }, new Set(["b", "c"]));
    expect(out).toEqual({ a: "x", b: secret("y"), c: undefined });
    expect(wrapSecret(out["b"])).toBe(out["b"]);
  });
});

describe("Redactor", () => {
  it("replaces every known secret, longest first", () => {
    const r = new Redactor();
    r.add(secret({ password: "correct-horse", longer: "correct-horse-battery" }));
    r.add("plain-secret-text");
    expect(r.redact("a correct-horse-battery and correct-horse; plain-secret-text")).toBe("a [secret] and [secret]; [secret]");
  });

  it("leaves short strings and file paths readable", () => {
    const r = new Redactor();
    r.add(secret({ file: "/run/secrets/jwt", mode: "0400" }));
    expect(r.redact("upload /run/secrets/jwt mode 0400")).toBe("upload /run/secrets/jwt mode 0400");
  });
});
