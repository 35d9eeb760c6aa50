/**
 * `npm run audit` against real containers on the local engine, from outside, through the same
 * command line an operator uses. Two parts: containers this test creates itself (a hardened
 * krc-shaped stack and a deliberately weak container; labelled krc.stack=audit-test*, removed
 * by label), and the project's deployed stack: the live suite's shared stack, or the one
 * KRC_STACK_JSON names (test/support/live-stack.ts).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedStackJson } from "../support/live-stack";
import { CHECKS } from "../../tools/audit/checks";
import type { Result } from "../../tools/audit/types";
import { buildSleeperImage, createHardenedStack, createWeakContainer, removeStack } from "./audit-stack";

const ROOT = join(__dirname, "..", "..");
const HARDENED = "audit-test";
const WEAK = "audit-test-weak";
const WEAK_SECRET = "not-a-real-password-but-named-like-one";

interface AuditRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the audit command as an operator would; never throws on a non-zero exit. */
async function audit(...args: string[]): Promise<AuditRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)("npx", ["tsx", "tools/audit/main.ts", ...args], { cwd: ROOT, maxBuffer: 16 * 2 ** 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

function results(run: AuditRun): Result[] {
  return (JSON.parse(run.stdout) as { results: Result[] }).results;
}

function cell(all: Result[], container: string, checkId: string): Result | undefined {
  return all.find((r) => r.container === container && r.checkId === checkId);
}

describe("npm run audit on containers this test creates", () => {
  beforeAll(async () => {
    await removeStack(WEAK);
    await removeStack(HARDENED);
    buildSleeperImage(HARDENED);
    await createHardenedStack(HARDENED);
    await createWeakContainer(WEAK);
  });

  afterAll(async () => {
    await removeStack(WEAK);
    await removeStack(HARDENED);
  });

  it("exits 0 with no FAIL when every container is hardened", async () => {
    const run = await audit("--stack", HARDENED, "--json");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const all = results(run);
    expect(all).toHaveLength(4 * CHECKS.length);
    expect(all.filter((r) => r.status === "FAIL")).toEqual([]);
    expect(cell(all, `krc-${HARDENED}-proxy`, "4.1")?.status).toBe("EXCEPTION");
    expect(cell(all, `krc-${HARDENED}-proxy`, "5.4")).toMatchObject({ status: "EXCEPTION", exception: "proxy-net-bind-service" });
    expect(cell(all, `krc-${HARDENED}-db`, "KRC-NET1")?.status).toBe("PASS");
    expect(cell(all, `krc-${HARDENED}-api`, "5.7")?.detail).toMatch(/process\(es\), no sshd/);
    expect(cell(all, `krc-${HARDENED}-db-secrets-writer`, "5.13")).toMatchObject({ status: "EXCEPTION", exception: "files-writer-writable-root" });
  });

  it("prints the containers × checks table with the exceptions' reasons when run without --json", async () => {
    const run = await audit("--stack", HARDENED);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^check\s+title\s+api\s+db\s+db-secrets-writer\s+proxy\s*$/m);
    expect(run.stdout).toMatch(/^5\.26\s+Ensure that the container is restricted.*PASS\s+PASS\s+PASS\s+PASS/m);
    expect(run.stdout).toContain("proxy-runs-as-root [4.1; proxy]");
  });

  it("exits 1 and names each failed check when a container keeps Docker's defaults", async () => {
    const run = await audit("--stack", WEAK, "--json");
    expect(run.code).toBe(1);
    const name = `krc-${WEAK}-api`;
    const all = results(run);
    for (const id of ["4.1", "5.4", "5.6", "5.9", "5.11", "5.13", "5.14", "5.26", "5.27", "5.30", "KRC-ENV", "KRC-LOG", "KRC-NET1"]) {
      expect.soft(cell(all, name, id)?.status, id).toBe("FAIL");
    }
    expect(run.stdout).not.toContain(WEAK_SECRET);
  });

  it("exits 2 with a clear message when no container carries the stack label", async () => {
    const run = await audit("--stack", "audit-test-nothing");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("no container labelled krc.stack=audit-test-nothing; nothing to audit");
  });
});

describe("npm run audit on the deployed stack", () => {
  it("exits 0 with no FAIL and covers every container of the stack", async () => {
    const stackJson = await sharedStackJson();
    const deployed = JSON.parse(readFileSync(stackJson, "utf8")) as { containers: string[] };
    const run = await audit("--stack-json", stackJson, "--json");
    const all = results(run);
    expect(all.filter((r) => r.status === "FAIL")).toEqual([]);
    expect(run.code).toBe(0);
    const audited = [...new Set(all.map((r) => r.container))];
    expect(audited).toEqual(expect.arrayContaining(deployed.containers));
    // Beyond the services: only files writers, recognised as such (never started, no network).
    for (const extra of audited.filter((c) => !deployed.containers.includes(c))) {
      expect(cell(all, extra, "5.13"), extra).toMatchObject({ status: "EXCEPTION", exception: "files-writer-writable-root" });
      expect(cell(all, extra, "KRC-NET1")?.detail, extra).toBe("files writer: no network");
    }
    const db = deployed.containers.find((c) => c.endsWith("-db"));
    const proxy = deployed.containers.find((c) => c.endsWith("-proxy"));
    expect(db && cell(all, db, "KRC-NET1")?.status).toBe("PASS");
    expect(proxy && cell(all, proxy, "5.9")?.detail).toMatch(/publishes 80\/tcp|publishes 443\/tcp/);
    for (const c of audited.filter((c) => c !== proxy)) expect(cell(all, c, "5.9")?.detail, c).toBe("publishes no port");
  });
});
