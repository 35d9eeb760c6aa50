import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseArgs } from "../support/harness/cli";
import { runHarness } from "../support/harness/run";

const PROJECT = "test/harness/fixtures/strict";

function statePath(): string {
  return join(mkdtempSync(join(tmpdir(), "harness-cli-")), "s", "state.json");
}

// Each run starts a Node process that loads the Pulumi SDK; give slow machines room.
const SLOW = 90_000;

describe("harness CLI", () => {
  it("runs a program with the project's config defaults and overrides, printing secrets as [secret]", async () => {
    const state = statePath();
    const run = await runHarness(["up", "--stack", "unit", "--project", PROJECT, "--state", state, "--set", "strict:length=24"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.summary).toEqual({ create: 1, update: 0, replace: 0, delete: 0, same: 0 });
    expect(run.stdout).toContain("    hex: [secret]");
    expect(run.stdout).toContain("    length: 24");
    expect(run.stdout).toContain('    stackName: "unit"');
    // The generated value is in state only encrypted.
    expect(readFileSync(state, "utf8")).toContain('"ciphertext"');
    const again = await runHarness(["up", "--stack", "unit", "--project", PROJECT, "--state", state, "--set", "strict:length=24"]);
    expect(again.summary).toEqual({ create: 0, update: 0, replace: 0, delete: 0, same: 1 });
    const down = await runHarness(["down", "--stack", "unit", "--project", PROJECT, "--state", state]);
    expect(down.summary).toMatchObject({ delete: 1 });
    expect(existsSync(state)).toBe(false);
  }, SLOW);

  it("fails with a message naming the type when the program registers one it does not implement", async () => {
    const run = await runHarness(["up", "--stack", "unit", "--project", PROJECT, "--state", statePath(), "--set", "strict:mode=unknownType"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("harness: resource type random:index/randomUuid:RandomUuid is not implemented (urn:pulumi:unit::strict::random:index/randomUuid:RandomUuid::id)");
  }, SLOW);

  it("fails with a message naming the field when an input is not implemented, before touching the engine", async () => {
    const run = await runHarness(["up", "--stack", "unit", "--project", PROJECT, "--state", statePath(), "--set", "strict:mode=unknownField"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('harness: docker:index/network:Network input "ingress" is not implemented (net)');
  }, SLOW);

  it("rejects a config value of the wrong type before running the program", async () => {
    const run = await runHarness(["up", "--stack", "unit", "--project", PROJECT, "--state", statePath(), "--set", "strict:length=long"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`--set: configuration key 'strict:length' must be of type 'integer', got "long"`);
    expect(run.summary).toBeUndefined();
  }, SLOW);
});

describe("parseArgs", () => {
  it("reads every option", () => {
    expect(parseArgs(["up", "--stack", "dev", "--config", "Pulumi.dev.yaml", "--set", "krc:a=b=c", "--secret", "krc:s=x", "--state", "s.json", "--stack-json", "j.json", "--force-unprotect"])).toMatchObject({
      command: "up",
      stack: "dev",
      configFile: "Pulumi.dev.yaml",
      overrides: [
        { key: "krc:a", value: "b=c", secret: false },
        { key: "krc:s", value: "x", secret: true },
      ],
      statePath: "s.json",
      stackJson: "j.json",
      forceUnprotect: true,
    });
  });

  it.each([
    [["deploy", "--stack", "dev"], "usage: cli.ts up|down"],
    [["up"], '--stack must be a lowercase name (letters, digits, dashes), got ""'],
    [["up", "--stack", "dev", "--set", "novalue"], "--set novalue: expected key=value"],
    [["up", "--stack", "dev", "--bogus"], "unknown argument --bogus"],
  ])("refuses %j", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
