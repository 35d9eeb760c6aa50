/**
 * The policy pack over what the real program (infra/index.ts) registers for the dev and prod
 * stack files, under the project's recording mocks: the pack must accept the program as it is,
 * so a violation in CI means a real regression, not a rule that misreads the program.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { POLICIES } from "../../policy/policies";
import type { Recorded } from "../support/mocks";
import { runProgram } from "../support/program";
import { resource, validateResource, validateStack } from "./args";

async function register(stack: string): Promise<Recorded[]> {
  const { mocks } = await runProgram(stack);
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
