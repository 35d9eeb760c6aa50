/**
 * The policy pack over what the real program (infra/index.ts) registers for the dev and prod
 * stack files, under the project's recording mocks: the pack must accept the program as it is,
 * so a violation in CI means a real regression, not a rule that misreads the program.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { POLICIES } from "../../policy/policies";
import { installMocks, valueOf, type Recorded } from "../support/mocks";
import { resource, validateResource, validateStack } from "./args";

// The real bundler runs esbuild over app/; the graph only needs its result's shape.
vi.mock("../../app/build", () => ({
  bundleApi: () => Promise.resolve({ contextDir: "/tmp/krc-test-api-context", contentHash: "c".repeat(64) }),
}));

type Program = typeof import("../../infra/index");

const ROOT = join(__dirname, "..", "..");

/** The stack file's `krc:` config as Pulumi hands it to the program. */
function stackConfig(stack: string): Record<string, string> {
  const config = (parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> }).config;
  return Object.fromEntries(
    Object.entries(config)
      .filter(([key]) => key.startsWith("krc:"))
      .map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
  );
}

async function register(stack: string): Promise<Recorded[]> {
  vi.resetModules();
  const mocks = await installMocks(stack);
  pulumi.runtime.setAllConfig(stackConfig(stack));
  const program = (await import("../../infra/index.js")) as Program;
  await Promise.all([valueOf(program.containers), valueOf(program.postgresCredentials), valueOf(program.dnsRecordIds)]);
  return mocks.resources.filter((r) => r.custom);
}

async function violations(stack: string): Promise<string[]> {
  const recorded = await register(stack);
  const found: string[] = [];
  for (const policy of POLICIES) {
    if ("validateStack" in policy) {
      const resources = recorded.map((r) => resource(r.type, r.name, r.inputs, {}, stack));
      for (const m of await validateStack(policy as StackValidationPolicy, resources)) found.push(`${policy.name}: ${m}`);
      continue;
    }
    for (const r of recorded) {
      for (const m of await validateResource(policy as ResourceValidationPolicy, r.type, r.inputs, { stack })) found.push(`${policy.name} ${r.name}: ${m}`);
    }
  }
  return found;
}

describe("the policy pack on the program's resources", () => {
  it.each(["dev", "prod"])("reports no violation when the program registers the %s stack", async (stack) => {
    expect(await violations(stack)).toEqual([]);
  });
});
