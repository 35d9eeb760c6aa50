import { describe, expect, it } from "vitest";
import { bridgeName, MAX_BRIDGE_NAME } from "../../infra/naming";

describe("bridgeName", () => {
  it.each([
    ["dev", "internal", "krc-dev-in"],
    ["prod", "external", "krc-prod-ex"],
    ["abcdefgh", "internal", "krc-abcdefgh-in"],
  ] as const)("keeps the readable name when %s fits in 15 bytes", (stack, role, expected) => {
    expect(bridgeName(stack, role)).toBe(expected);
  });

  it("hashes the stack name when the readable name would exceed 15 bytes", () => {
    const name = bridgeName("live-network-test", "internal");
    expect(name).toMatch(/^krc[0-9a-f]{9}-in$/);
    expect(name.length).toBe(MAX_BRIDGE_NAME);
  });

  it("gives distinct names to long stacks that share a prefix, and to the two networks", () => {
    const names = ["edgefix-one", "edgefix-two", "edgefix-three"].flatMap((s) => [bridgeName(s, "internal"), bridgeName(s, "external")]);
    expect(new Set(names).size).toBe(names.length);
  });

  it("never gives a hashed name that equals a readable one", () => {
    // Readable names always have "-" right after "krc"; hashed ones never.
    expect(bridgeName("abcdefghi", "internal")[3]).not.toBe("-");
    expect(bridgeName("a", "internal")[3]).toBe("-");
  });

  it("counts bytes, not characters, against the limit when the stack name is not ASCII", () => {
    const name = bridgeName("ééééé", "internal");
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_BRIDGE_NAME);
    expect(name).toMatch(/^krc[0-9a-f]{9}-in$/);
  });

  it.each(["", "a b", "a/b", "a:b"])("throws when the stack name %j cannot be part of an interface name", (stack) => {
    expect(() => bridgeName(stack, "internal")).toThrow(/not usable in an interface name/);
  });
});
