/**
 * `npm run audit -- [--stack <name> | --live | --stack-json <file>] [--env dev|prod] [--json]`
 *
 * Inspects the stack's containers through the Docker Engine API (DOCKER_HOST or the local
 * socket) and prints containers × CIS Docker Benchmark checks. Exit status: 0 when nothing
 * fails, 1 on any FAIL, 2 when the audit cannot run (bad arguments, no containers, no engine).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import Docker from "dockerode";
import { hasFailures, runAudit } from "./audit";
import { collectSubjects, engineSecurity } from "./docker";
import { renderReport } from "./report";

const USAGE = "usage: npm run audit -- [--stack <name> | --live | --stack-json <file>] [--env dev|prod] [--json]";

/** Written by `npm run live:up` (docs/architecture.md, "The live harness"). */
const LIVE_STACK_JSON = ".live/stack.json";

class UsageError extends Error {}

interface Options {
  readonly stack: string;
  readonly expected: readonly string[];
  readonly environment: "dev" | "prod";
  readonly json: boolean;
}

/** Stack name and container names recorded in a stack.json. */
function readStackJson(path: string): { stack: string; containers: string[] } {
  let parsed: { stack?: unknown; containers?: unknown };
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as typeof parsed;
  } catch (err) {
    throw new UsageError(`cannot read ${path} (${(err as Error).message}); deploy the local stack first with npm run live:up`);
  }
  const containers = parsed.containers;
  if (!Array.isArray(containers) || containers.length === 0 || !containers.every((c) => typeof c === "string")) {
    throw new UsageError(`${path} has no "containers" list of names`);
  }
  // Older files lack "stack"; names are krc-<stack>-<service> (docs/architecture.md).
  const stack = typeof parsed.stack === "string" ? parsed.stack : /^krc-(.+)-[a-z]+$/.exec(containers[0] as string)?.[1];
  if (!stack) throw new UsageError(`${path} names no stack and ${String(containers[0])} is not krc-<stack>-<service>`);
  return { stack, containers: containers as string[] };
}

function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" },
        live: { type: "boolean" },
        "stack-json": { type: "string" },
        env: { type: "string" },
        json: { type: "boolean" },
      },
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  const sources = [values.stack, values.live, values["stack-json"]].filter((v) => v !== undefined);
  if (sources.length > 1) throw new UsageError(`--stack, --live and --stack-json are exclusive\n${USAGE}`);
  const file = values["stack-json"] ?? (values.live ? LIVE_STACK_JSON : undefined);
  const live = file === undefined ? undefined : readStackJson(file);
  const stack = live?.stack ?? values.stack ?? "dev";
  if (!/^[a-z0-9][a-z0-9-]*$/.test(stack)) throw new UsageError(`--stack: ${JSON.stringify(stack)} is not a stack name (lowercase letters, digits, -)`);
  const env = values.env ?? (stack === "prod" ? "prod" : "dev");
  if (env !== "dev" && env !== "prod") throw new UsageError(`--env: ${JSON.stringify(env)} is not allowed; use dev or prod`);
  return { stack, expected: live?.containers ?? [], environment: env, json: values.json ?? false };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const docker = new Docker();
  const [engine, subjects] = await Promise.all([engineSecurity(docker), collectSubjects(docker, options.stack)]);
  if (subjects.length === 0) {
    console.error(`audit: no container labelled krc.stack=${options.stack}; nothing to audit`);
    return 2;
  }
  const missing = options.expected.filter((name) => !subjects.some((s) => s.name === name));
  if (missing.length > 0) {
    console.error(`audit: containers listed in the stack.json not found: ${missing.join(", ")}`);
    return 2;
  }
  const results = runAudit({ stack: options.stack, environment: options.environment, engine, subjects });
  console.log(options.json ? JSON.stringify({ stack: options.stack, results }, null, 2) : renderReport(options.stack, results));
  return hasFailures(results) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`audit: ${err instanceof UsageError ? err.message : `cannot inspect the stack: ${(err as Error).message}`}`);
    process.exitCode = 2;
  },
);
