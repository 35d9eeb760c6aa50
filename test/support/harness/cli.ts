/**
 * The live harness's command line: deploys (`up`) or removes (`down`) a stack of a Pulumi program
 * on the local Docker engine, with engine-like state. See docs/architecture.md, "The live harness".
 *
 *   tsx test/support/harness/cli.ts up|down --stack <name> [--config Pulumi.<stack>.yaml]
 *       [--set key=value ...] [--secret key=value ...] [--state <file>] [--project <dir>]
 *       [--stack-json <file>] [--force-unprotect] [--parallel <n>]
 */
import { existsSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { loadDeployableConfig, type Override } from "./config";
import { Engine } from "./engine";
import { allMaterializers } from "./registry";
import { runProgram } from "./runner";
import { isSecretEnvelope, wrapSecret } from "./secrets";
import { STACK_FILES, writeStackJson } from "./stackJson";
import { defaultStatePath, StateStore } from "./state";
import type { Props } from "./types";

/** Parsed command line. */
export interface CliArgs {
  command: "up" | "down";
  stack: string;
  configFile?: string;
  overrides: Override[];
  statePath?: string;
  projectDir: string;
  stackJson?: string;
  forceUnprotect: boolean;
  parallel?: number;
}

const USAGE = "usage: cli.ts up|down --stack <name> [--config <file>] [--set key=value]... [--secret key=value]... [--state <file>] [--project <dir>] [--stack-json <file>] [--force-unprotect] [--parallel <n>]";

/** Parses argv (without node and script); throws with the usage on anything unknown. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const [command, ...rest] = argv;
  if (command !== "up" && command !== "down") throw new Error(USAGE);
  const args: CliArgs = { command, stack: "", overrides: [], projectDir: process.cwd(), forceUnprotect: false };
  for (let i = 0; i < rest.length; i += 1) {
    const flag = rest[i];
    const value = (): string => {
      const v = rest[i + 1];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      i += 1;
      return v;
    };
    switch (flag) {
      case "--stack": args.stack = value(); break;
      case "--config": args.configFile = value(); break;
      case "--state": args.statePath = value(); break;
      case "--project": args.projectDir = resolve(value()); break;
      case "--stack-json": args.stackJson = value(); break;
      case "--force-unprotect": args.forceUnprotect = true; break;
      case "--parallel": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new Error(`--parallel must be a positive integer\n${USAGE}`);
        args.parallel = n;
        break;
      }
      case "--set":
      case "--secret": {
        const kv = value();
        const eq = kv.indexOf("=");
        if (eq <= 0) throw new Error(`${flag} ${kv}: expected key=value`);
        args.overrides.push({ key: kv.slice(0, eq), value: kv.slice(eq + 1), secret: flag === "--secret" });
        break;
      }
      default: throw new Error(`unknown argument ${String(flag)}\n${USAGE}`);
    }
  }
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(args.stack)) throw new Error(`--stack must be a lowercase name (letters, digits, dashes), got "${args.stack}"\n${USAGE}`);
  return args;
}

function describe(outputs: Props): string[] {
  return Object.entries(outputs).map(([k, v]) => `    ${k}: ${isSecretEnvelope(v) ? "[secret]" : JSON.stringify(v)}`);
}

/** After a complete `down`: the state, its key, the copied CA and stack.json; the directory if empty. */
function removeStackFiles(statePath: string, stackJson: string | undefined): void {
  const dir = dirname(statePath);
  for (const f of [statePath, join(dir, "state.key"), ...STACK_FILES.map((n) => join(dir, n)), ...(stackJson ? [stackJson] : [])]) rmSync(f, { force: true });
  if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
}

async function main(): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(2);
  }
  const started = Date.now();
  const projectDir = args.projectDir;
  const statePath = resolve(args.statePath ?? defaultStatePath(projectDir, args.stack));
  const store = new StateStore(statePath);
  const config = loadDeployableConfig(join(projectDir, "Pulumi.yaml"), args.configFile && resolve(projectDir, args.configFile), args.overrides);
  const log = (line: string): void => console.log(line);
  // The container materializer quotes container logs in errors; it redacts them with the engine's secrets.
  const holder: { engine?: Engine } = {};
  const engine = new Engine({ project: config.project, stack: args.stack, store, materializers: allMaterializers((s) => holder.engine?.redactor.redact(s) ?? s), log, forceUnprotect: args.forceUnprotect, parallel: args.parallel });
  holder.engine = engine;
  for (const o of args.overrides) if (o.secret) engine.redactor.add(wrapSecret(o.value));

  console.log(`harness: ${args.command} stack ${args.stack} (project ${config.project}, state ${statePath})`);
  let failed: unknown;
  try {
    if (args.command === "up") {
      const outputs = await runProgram({ projectDir, stack: args.stack, config, engine });
      await engine.finishUp();
      engine.setStackOutputs(outputs);
      console.log("Outputs:");
      for (const line of describe(outputs)) console.log(line);
      if (args.stackJson) await writeStackJson(resolve(projectDir, args.stackJson), dirname(statePath), args.stack, outputs);
    } else {
      await engine.destroy();
    }
  } catch (e) {
    failed = e;
  }
  await engine.flush();
  if (args.command === "down" && failed === undefined && engine.empty) removeStackFiles(statePath, args.stackJson && resolve(projectDir, args.stackJson));
  console.log(engine.summaryLine());
  console.log(`harness: summary ${JSON.stringify(engine.summary)}`);
  console.log(`Duration: ${((Date.now() - started) / 1000).toFixed(1)}s`);
  if (failed !== undefined) {
    const detail = failed instanceof Error ? (process.env["HARNESS_DEBUG"] ? (failed.stack ?? failed.message) : failed.message) : String(failed);
    console.error(`harness: ${args.command} failed:\n${engine.redactor.redact(detail)}`);
    process.exit(1);
  }
  process.exit(0);
}

if (require.main === module) {
  // Errors before the deployment starts (config, state file): nothing was touched.
  main().catch((e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    console.error(message.startsWith("harness: ") ? message : `harness: ${message}`);
    process.exit(1);
  });
}
