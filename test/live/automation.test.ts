/**
 * The real engine, where it exists: the Automation API runs `pulumi up` of the real program with a
 * local file backend and the passphrase secrets provider, with the policy pack, checks the stack
 * from outside (npm run audit), previews again expecting no change, and destroys it.
 *
 * It needs the Pulumi CLI (with the docker, random, tls and postgresql plugins it downloads) and a
 * Docker engine. Where either is missing the test is reported as skipped, never as passed.
 */
import { execFile, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import Docker from "dockerode";
import { afterAll, describe, expect, it } from "vitest";
import { removeStack } from "./audit-stack";

const ROOT = join(__dirname, "..", "..");
const STACK = "automation-test";

function pulumiCliAvailable(): boolean {
  return spawnSync("pulumi", ["version"], { stdio: "ignore" }).status === 0;
}

// Synchronous because skipIf is decided while the file is collected: a child process pings the
// engine (DOCKER_HOST or the local socket) through the same client the test uses.
function dockerAnswers(): boolean {
  const ping = "new (require('dockerode'))().ping().then(() => process.exit(0), () => process.exit(1))";
  return spawnSync(process.execPath, ["-e", ping], { cwd: ROOT, stdio: "ignore", timeout: 10_000 }).status === 0;
}

const available = pulumiCliAvailable() && dockerAnswers();

/** A free port on 127.0.0.1, so this stack never collides with another on the same engine. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * A throwaway project directory: the real Pulumi.yaml and symlinks to the real program, so the
 * stack's config file and the file backend land outside the repository.
 */
function projectDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "krc-automation-"));
  copyFileSync(join(ROOT, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  for (const entry of ["infra", "app", "images", "node_modules", "package.json", "tsconfig.json"]) {
    symlinkSync(join(ROOT, entry), join(dir, entry));
  }
  return dir;
}

describe("pulumi up through the Automation API", () => {
  let dir: string | undefined;
  let stack: Stack | undefined;

  afterAll(async () => {
    if (stack) await stack.destroy({ onOutput: () => undefined }).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (available) await removeStack(STACK);
  });

  it.skipIf(!available)("deploys, audits clean, previews no change and destroys when the CLI and Docker exist", async () => {
    dir = projectDir();
    const backend = mkdtempSync(join(dir, "state-"));
    stack = await LocalWorkspace.createOrSelectStack(
      { stackName: STACK, workDir: dir },
      {
        envVars: { PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "automation-test-only" },
        secretsProvider: "passphrase",
      },
    );
    // The same local-engine shape as Pulumi.dev.yaml, on ports nobody else uses.
    await stack.setAllConfig({
      "krc:environment": { value: "dev" },
      "krc:apiHost": { value: "krc.localhost" },
      "krc:kioskHost": { value: "kiosk.localhost" },
      "krc:tls": { value: "internal" },
      "krc:bindAddress": { value: "127.0.0.1" },
      "krc:httpPort": { value: String(await freePort()) },
      "krc:httpsPort": { value: String(await freePort()) },
      "krc:adminEmail": { value: "admin@krc.localhost" },
      "krc:protectData": { value: "false" },
    });
    const policyPacks = [join(ROOT, "policy")];

    const up = await stack.up({ policyPacks, onOutput: () => undefined });
    expect(up.summary.result).toBe("succeeded");

    const audit = await promisify(execFile)("npx", ["tsx", "tools/audit/main.ts", "--stack", STACK, "--json"], { cwd: ROOT }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code?: number; stdout?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? "" }),
    );
    const failed = (JSON.parse(audit.stdout) as { results: { status: string }[] }).results.filter((r) => r.status === "FAIL");
    expect(failed).toEqual([]);
    expect(audit.code).toBe(0);

    const again = await stack.preview({ policyPacks, expectNoChanges: true, onOutput: () => undefined });
    expect(Object.keys(again.changeSummary).filter((op) => op !== "same")).toEqual([]);

    const down = await stack.destroy({ onOutput: () => undefined });
    expect(down.summary.result).toBe("succeeded");
    stack = undefined;
    const left = await new Docker().listContainers({ all: true, filters: { label: [`krc.stack=${STACK}`] } });
    expect(left).toEqual([]);
  });
});
