/**
 * One program evaluation in its own process (child of bench/sections/program.ts): installs plain
 * in-memory mocks, hands the program the project's config (Pulumi.yaml defaults, then the stack
 * file, as the CLI would), loads it, waits for every export and registration, and prints
 * `{"resources": n, "ms": t}` where t is the time since the process started.
 *
 *   node --import tsx bench/program/evaluate.ts <program.ts> <project dir> <Pulumi.<stack>.yaml>
 */
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import * as pulumi from "@pulumi/pulumi";
import { loadProgramConfig } from "../../test/support/harness/config";
import { installMocks } from "../../test/support/mocks";

async function main(): Promise<void> {
  const [programArg, projectDir, stackFile] = process.argv.slice(2);
  if (!programArg || !projectDir || !stackFile) throw new Error("usage: evaluate.ts <program.ts> <project dir> <stack file>");
  const program = resolve(programArg);
  const config = loadProgramConfig(join(projectDir, "Pulumi.yaml"), resolve(projectDir, stackFile), []);
  const stack = /Pulumi\.([a-z0-9-]+)\.yaml$/.exec(stackFile)?.[1] ?? "bench";
  const mocks = await installMocks(stack);
  pulumi.runtime.setAllConfig(config.values, [...config.secretKeys]);
  process.chdir(projectDir);
  // The program is CommonJS, loaded the way the language host loads it.
  const exported = (await import(program)) as Record<string, unknown>;
  for (const [key, value] of Object.entries(exported)) {
    if (key === "__esModule" || key === "default" || typeof value === "function") continue;
    await (pulumi.output(value) as unknown as { promise(): Promise<unknown> }).promise();
  }
  await pulumi.runtime.disconnect();
  console.log(JSON.stringify({ resources: mocks.resources.length, ms: performance.now() }));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
