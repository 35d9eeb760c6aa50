/**
 * Loads the real program (infra/index.ts) under the recording mocks with a stack file's config:
 * the resource-graph tests (test/infra) and the policy pack's (test/policy) both start here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { parse } from "yaml";
import { renderValue } from "./harness/config";
import { installMocks, valueOf, type MockOptions, type RecordingMocks } from "./mocks";

/** The program module's exports (the stack outputs). */
export type Program = typeof import("../../infra/index");

const ROOT = join(__dirname, "..", "..");

/** The `krc:` keys of `Pulumi.<stack>.yaml`, without the namespace, as YAML values. */
export function stackFile(stack: string): Record<string, unknown> {
  const config = (parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> }).config;
  return Object.fromEntries(
    Object.entries(config)
      .filter(([key]) => key.startsWith("krc:"))
      .map(([key, value]) => [key.slice("krc:".length), value]),
  );
}

/** The stack file's config with `overrides` on top, as Pulumi hands it to the program (strings; arrays as JSON). */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries({ ...stackFile(stack), ...overrides }).map(([key, value]) => [`krc:${key}`, renderValue(value)]));
}

/**
 * Fresh modules, fresh recording mocks and the stack's config, ready for {@link importProgram}.
 * The real bundler (esbuild over app/) is replaced by its result's shape: the graph needs no more.
 */
export async function prepareProgram(stack: string, overrides: Record<string, unknown> = {}, options?: MockOptions): Promise<RecordingMocks> {
  vi.resetModules();
  vi.doMock("../../app/build", () => ({
    bundleApi: () => Promise.resolve({ contextDir: "/tmp/krc-test-api-context", contentHash: "c".repeat(64) }),
  }));
  const mocks = await installMocks(stack, options);
  pulumi.runtime.setAllConfig(stackConfig(stack, overrides));
  return mocks;
}

/** Runs the program's module; rejects with the program's own error (a config error, say). */
export function importProgram(): Promise<Program> {
  return import("../../infra/index.js") as Promise<Program>;
}

/** Runs the program once for `stack` and waits until every resource is registered. */
export async function runProgram(
  stack: string,
  overrides: Record<string, unknown> = {},
  options?: MockOptions,
): Promise<{ mocks: RecordingMocks; program: Program }> {
  const mocks = await prepareProgram(stack, overrides, options);
  const program = await importProgram();
  await Promise.all([valueOf(program.containers), valueOf(program.postgresCredentials), valueOf(program.dnsRecordIds)]);
  return { mocks, program };
}
