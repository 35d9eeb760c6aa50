/**
 * Section 1, program evaluation: the prod stack's program under plain in-memory mocks (what
 * `pulumi preview` spends in our code: config validation, the API bundle, every registration)
 * against an empty program under the same mocks, each in its own process.
 */
import { cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { run } from "../lib/proc";
import { median, type Figure } from "../lib/stats";

const REPO = resolve(__dirname, "..", "..");
const EVALUATE = join(REPO, "bench", "program", "evaluate.ts");
const EMPTY = join(REPO, "bench", "program", "empty.ts");

/** How many measured runs of each program (after one unmeasured warm-up of each). */
export const PROGRAM_RUNS = 5;

interface Evaluation {
  readonly resources: number;
  /** Process start to every export and registration settled, as the child measured it. */
  readonly ms: number;
  /** Wall time of the whole child process, as the parent measured it. */
  readonly wallMs: number;
}

/**
 * A scratch copy of the program's sources: the program bundles the API into `<root>/.build/api`,
 * which a live deploy in the real tree may be building from at the same moment.
 */
function scratchProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "krc-bench-program-"));
  for (const entry of ["infra", "app", "Pulumi.yaml", "Pulumi.prod.yaml", "package.json", "tsconfig.json"]) {
    cpSync(join(REPO, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

async function evaluate(program: string, projectDir: string): Promise<Evaluation> {
  const result = await run(process.execPath, ["--import", "tsx", EVALUATE, program, projectDir, "Pulumi.prod.yaml"], { cwd: REPO, timeoutMs: 120_000 });
  const last = result.stdout.trim().split("\n").pop() ?? "";
  const parsed = JSON.parse(last) as { resources: number; ms: number };
  return { resources: parsed.resources, ms: parsed.ms, wallMs: result.ms };
}

/** Runs both programs alternately and returns the medians as figures. */
export async function benchProgram(log: (line: string) => void): Promise<Figure[]> {
  const project = scratchProject();
  try {
    const full = join(project, "infra", "index.ts");
    // Warm-up: tsx's transform cache and the page cache, for both alike.
    await evaluate(EMPTY, project);
    await evaluate(full, project);
    const fulls: Evaluation[] = [];
    const empties: Evaluation[] = [];
    for (let i = 0; i < PROGRAM_RUNS; i += 1) {
      empties.push(await evaluate(EMPTY, project));
      fulls.push(await evaluate(full, project));
      log(`  run ${i + 1}/${PROGRAM_RUNS}: prod program ${fulls.at(-1)?.wallMs.toFixed(0)} ms, empty ${empties.at(-1)?.wallMs.toFixed(0)} ms`);
    }
    const resources = fulls[0]?.resources ?? 0;
    const note = `median of ${PROGRAM_RUNS} runs each, separate processes (node --import tsx), ${resources} resources registered`;
    return [
      {
        section: "program",
        name: "prod program under mocks, process wall time",
        value: median(fulls.map((e) => e.wallMs)),
        unit: "ms",
        baseline: { name: "empty program", value: median(empties.map((e) => e.wallMs)) },
        target: { kind: "ratioAtMost", limit: 2 },
        note,
      },
      {
        section: "program",
        name: "prod program under mocks, start to settled (in process)",
        value: median(fulls.map((e) => e.ms)),
        unit: "ms",
        baseline: { name: "empty program", value: median(empties.map((e) => e.ms)) },
        note,
      },
    ];
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}
