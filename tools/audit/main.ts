/**
 * `npm run audit -- [--stack <name>] [--live] [--env dev|prod] [--json]`
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

const USAGE = "usage: npm run audit -- [--stack <name>] [--live] [--env dev|prod] [--json]";

class UsageError extends Error {}

interface Options {
  readonly stack: string;
  readonly expected: readonly string[];
  readonly environment: "dev" | "prod";
  readonly json: boolean;
}

/** Container names and stack recorded by `npm run live:up`. */
function readLive(path: string): { stack: string; containers: string[] } {
  let parsed: { containers?: unknown };
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as { containers?: unknown };
  } catch (err) {
    throw new UsageError(`--live: cannot read ${path} (${(err as Error).message}); run npm run live:up first`);
  }
  const containers = parsed.containers;
  if (!Array.isArray(containers) || containers.length === 0 || !containers.every((c) => typeof c === "string")) {
    throw new UsageError(`--live: ${path} has no "containers" list of names`);
  }
  // Names are krc-<stack>-<service> (docs/architecture.md).
  const stack = /^krc-(.+)-[a-z]+$/.exec(containers[0] as string)?.[1];
  if (!stack) throw new UsageError(`--live: container name ${String(containers[0])} is not krc-<stack>-<service>`);
  return { stack, containers: containers as string[] };
}

function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { stack: { type: "string" }, live: { type: "boolean" }, env: { type: "string" }, json: { type: "boolean" } },
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.live && values.stack) throw new UsageError(`--live and --stack are exclusive\n${USAGE}`);
  const live = values.live ? readLive(".live/stack.json") : undefined;
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
    console.error(`audit: containers listed in .live/stack.json not found: ${missing.join(", ")}`);
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
