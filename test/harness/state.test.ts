import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SECRET_SIG, SIG_KEY } from "../support/harness/secrets";
import { StateStore, type StackState } from "../support/harness/state";

const secretValue = "d6f1c0a8a9b24e7e8f0c1b2a3d4e5f60";

function sample(): StackState {
  return {
    version: 1,
    stack: "t",
    outputs: { token: { [SIG_KEY]: SECRET_SIG, value: secretValue }, url: "https://x" },
    resources: [],
  };
}

describe("StateStore", () => {
  it("encrypts secret values at rest and restores them on load", () => {
    const dir = mkdtempSync(join(tmpdir(), "harness-state-"));
    const store = new StateStore(join(dir, "s", "state.json"));
    store.save(sample());
    const text = readFileSync(join(dir, "s", "state.json"), "utf8");
    expect(text).not.toContain(secretValue);
    expect(text).toContain("https://x");
    expect(new StateStore(join(dir, "s", "state.json")).load("t")).toEqual(sample());
  });

  it("keeps the state and its key private", () => {
    const dir = mkdtempSync(join(tmpdir(), "harness-state-"));
    const store = new StateStore(join(dir, "s", "state.json"));
    store.save(sample());
    expect(statSync(join(dir, "s")).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "s", "state.json")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "s", "state.key")).mode & 0o777).toBe(0o600);
  });

  it("fails loudly when a ciphertext was tampered with", () => {
    const dir = mkdtempSync(join(tmpdir(), "harness-state-"));
    const path = join(dir, "state.json");
    new StateStore(path).save(sample());
    const raw = JSON.parse(readFileSync(path, "utf8")) as { outputs: { token: { ciphertext: string } } };
    const bytes = Buffer.from(raw.outputs.token.ciphertext, "base64");
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    raw.outputs.token.ciphertext = bytes.toString("base64");
    writeFileSync(path, JSON.stringify(raw));
    expect(() => new StateStore(path).load("t")).toThrow(`harness: cannot decrypt a secret in ${path} (wrong key or tampered file)`);
  });

  it("refuses the state of another stack", () => {
    const dir = mkdtempSync(join(tmpdir(), "harness-state-"));
    const path = join(dir, "state.json");
    new StateStore(path).save(sample());
    expect(() => new StateStore(path).load("other")).toThrow(`harness: ${path} is not a version 1 state of stack "other"`);
  });

  it("starts empty when there is no state file", () => {
    const dir = mkdtempSync(join(tmpdir(), "harness-state-"));
    expect(new StateStore(join(dir, "state.json")).load("t")).toEqual({ version: 1, stack: "t", resources: [], outputs: {} });
  });
});
