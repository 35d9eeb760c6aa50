/**
 * Section 6, deploy: wall time of the harness CLI deploying the stack on a stack name of its own
 * (own containers, volumes, ports and state), cold (no engine object of that stack exists; the
 * stand-in images are built) and again with no change, each against the same CLI deploying an
 * empty program. Removes everything it deployed afterwards.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { changes, removeLeftovers, runHarness, type HarnessRun } from "../../test/support/harness/run";
import type { Figure } from "../lib/stats";

const REPO = resolve(__dirname, "..", "..");
/** The deploy benchmark's stack name and ports (apart from the dev stack's and the live tests'). */
export const DEPLOY_STACK = "benchdeploy";
const HTTP_PORT = 28080;
const HTTPS_PORT = 28443;

/** The `--set` overrides of `npm run live:up` (the stand-in images), so the bench deploys what it deploys. */
export function liveUpOverrides(packageJson: string): string[] {
  const script = (JSON.parse(packageJson) as { scripts?: Record<string, string> }).scripts?.["live:up"];
  if (!script) throw new Error('package.json has no "live:up" script to take the deploy settings from');
  const words = script.split(/\s+/);
  return words.flatMap((w, i) => (w === "--set" && words[i + 1] ? [words[i + 1] as string] : []));
}

function expectOk(what: string, run: HarnessRun): HarnessRun {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${(run.stderr || run.stdout).trim().split("\n").slice(-10).join("\n")}`);
  return run;
}

/** Runs the section. */
export async function benchDeploy(log: (line: string) => void): Promise<Figure[]> {
  const stateDir = join(REPO, ".live", DEPLOY_STACK);
  const state = join(stateDir, "state.json");
  const sets = [
    ...liveUpOverrides(readFileSync(join(REPO, "package.json"), "utf8")).filter((s) => !/^krc:(httpPort|httpsPort|corsOrigins)=/.test(s)),
    `krc:httpPort=${HTTP_PORT}`,
    `krc:httpsPort=${HTTPS_PORT}`,
    `krc:corsOrigins=["https://krc.localhost:${HTTPS_PORT}","https://kiosk.localhost:${HTTPS_PORT}"]`,
  ].flatMap((s) => ["--set", s]);
  const up = ["up", "--stack", DEPLOY_STACK, "--config", "Pulumi.dev.yaml", "--state", state, ...sets];
  const down = ["down", "--stack", DEPLOY_STACK, "--state", state];

  const empty = mkdtempSync(join(tmpdir(), "krc-bench-empty-project-"));
  writeFileSync(join(empty, "Pulumi.yaml"), `name: krcbenchempty\nruntime: nodejs\nmain: ${join(REPO, "bench", "program", "empty.ts")}\n`);
  const emptyArgs = (command: "up" | "down") => [command, "--stack", "benchempty", "--project", empty, "--state", join(empty, "state.json")];

  // A cold start: nothing of this stack on the engine, no state.
  if (existsSync(state)) await runHarness(down);
  await removeLeftovers(DEPLOY_STACK);
  rmSync(stateDir, { recursive: true, force: true });
  try {
    log("  empty program, first deploy");
    const emptyCold = expectOk("empty program deploy", await runHarness(emptyArgs("up")));
    log("  cold deploy");
    const cold = expectOk("cold deploy", await runHarness(up));
    log("  no-change deploy");
    const again = expectOk("no-change deploy", await runHarness(up));
    const emptyAgain = expectOk("empty program redeploy", await runHarness(emptyArgs("up")));
    const changed = changes(again.summary);
    if (changed !== 0) throw new Error(`the second deploy changed ${changed} resources; a no-change deploy must change none (${JSON.stringify(again.summary)})`);
    return [
      { section: "deploy", name: "cold deploy through the harness CLI", value: cold.seconds, unit: "s", baseline: { name: "empty program, same CLI", value: emptyCold.seconds }, note: `${cold.summary?.create ?? "?"} resources created (API image build included)` },
      { section: "deploy", name: "no-change deploy through the harness CLI", value: again.seconds, unit: "s", baseline: { name: "empty program, same CLI", value: emptyAgain.seconds }, note: `${again.summary?.same ?? "?"} resources unchanged, 0 changes` },
    ];
  } finally {
    log("  removing the deploy benchmark's stack");
    await runHarness(down);
    await removeLeftovers(DEPLOY_STACK);
    rmSync(stateDir, { recursive: true, force: true });
    await runHarness(emptyArgs("down"));
    rmSync(empty, { recursive: true, force: true });
  }
}
