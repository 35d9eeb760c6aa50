/**
 * A stack of the live test suite: the dev config with the stand-in images, on host ports of its own
 * so that several stacks (and a developer's `npm run live:up`) can share one Docker engine.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { removeLeftovers, runHarness, type HarnessRun } from "./harness/run";
import type { StackJson } from "./harness/stackJson";

const ROOT = resolve(__dirname, "../..");

/** The stand-in images: the official ones cannot be pulled here (no registry). */
export const STANDIN_IMAGES = [
  "krc:postgresImage=krc-standin/postgres:15",
  "krc:caddyImage=krc-standin/caddy:2",
  "krc:nodeImage=krc-standin/node:20",
] as const;

/** One test stack and the harness commands that drive it. */
export class LiveStack {
  readonly stateDir: string;
  readonly stackJsonPath: string;

  constructor(
    readonly name: string,
    readonly ports: { readonly http: number; readonly https: number },
  ) {
    this.stateDir = join(ROOT, ".live", name);
    this.stackJsonPath = join(this.stateDir, "stack.json");
  }

  /** `key=value` config of this stack: the stand-ins, its ports and the CORS origins on them. */
  config(): string[] {
    const { http, https } = this.ports;
    return [
      ...STANDIN_IMAGES,
      `krc:httpPort=${http}`,
      `krc:httpsPort=${https}`,
      `krc:corsOrigins=["https://krc.localhost:${https}","https://kiosk.localhost:${https}"]`,
    ];
  }

  /** Deploys or updates the stack; `sets` are extra `key=value` overrides. */
  up(...sets: string[]): Promise<HarnessRun> {
    const config = [...this.config(), ...sets];
    return runHarness(["up", "--stack", this.name, "--config", "Pulumi.dev.yaml", "--stack-json", this.stackJsonPath, ...config.flatMap((c) => ["--set", c])]);
  }

  /** Like `up`, but throws with the harness's own output when the run fails. */
  async upOrThrow(...sets: string[]): Promise<HarnessRun> {
    const run = await this.up(...sets);
    if (run.code !== 0) throw new Error(`harness up ${this.name} failed:\n${run.stdout}\n${run.stderr}`);
    return run;
  }

  down(): Promise<HarnessRun> {
    return runHarness(["down", "--stack", this.name, "--stack-json", this.stackJsonPath]);
  }

  /** Removes an interrupted earlier run: Docker objects by label, and the state describing them. */
  async reset(): Promise<void> {
    await removeLeftovers(this.name);
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** Whether the harness holds state for this stack (something may be deployed). */
  hasState(): boolean {
    return existsSync(join(this.stateDir, "state.json"));
  }

  load(): StackJson {
    return JSON.parse(readFileSync(this.stackJsonPath, "utf8")) as StackJson;
  }
}

/**
 * The stack the read-only live checks (edge, audit) share, deployed on first use and removed by
 * the live project's global teardown (test/live/global-setup.ts).
 */
export const sharedStack = new LiveStack("livecheck", { http: 19080, https: 19443 });

/**
 * Path of the stack.json the read-only checks run against: the one named by KRC_STACK_JSON (to
 * check a stack you deployed, e.g. `KRC_STACK_JSON=.live/stack.json` after `npm run live:up`), else
 * the shared test stack, deployed now if needed (an unchanged stack costs a no-change run).
 */
export async function sharedStackJson(): Promise<string> {
  const named = process.env["KRC_STACK_JSON"];
  if (named !== undefined && named !== "") {
    if (!existsSync(named)) throw new Error(`KRC_STACK_JSON names ${named}, which does not exist: deploy it first (npm run live:up)`);
    return named;
  }
  if (!sharedStack.hasState()) await sharedStack.reset();
  await sharedStack.upOrThrow();
  return sharedStack.stackJsonPath;
}
