import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

// Calls through to the real esbuild; the spy only counts how often a bundle is built.
vi.mock("esbuild", async (importOriginal) => {
  const real = await importOriginal<typeof import("esbuild")>();
  return { ...real, build: vi.fn(real.build) };
});

import { build } from "esbuild";
import { bundleApi, hashBuildInputs, hashDirectory } from "../../app/build";

const REPO = resolve(__dirname, "..", "..");
let root: string;
let first: { contextDir: string; contentHash: string };

/** A copy of what the bundle is built from, so a test may change a source without touching the tree. */
function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "krc-build-cache-"));
  for (const entry of ["app/src", "app/build.ts", "infra/naming.ts", "package.json", "package-lock.json", "tsconfig.json"]) {
    cpSync(join(REPO, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

beforeAll(async () => {
  root = copyProject();
  first = await bundleApi({ root });
}, 120_000);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  vi.mocked(build).mockClear();
});

describe("bundleApi's input cache", () => {
  it("returns the stored content hash without running esbuild when nothing changed", async () => {
    const again = await bundleApi({ root });
    expect(build).not.toHaveBeenCalled();
    expect(again).toEqual(first);
    expect(hashDirectory(again.contextDir)).toBe(first.contentHash);
  });

  it("keeps the stamp beside the build context so it never reaches the image when a bundle is built", () => {
    expect(readdirSync(join(root, ".build")).sort()).toEqual(["api", "api.inputs.json"]);
    expect(JSON.parse(readFileSync(join(root, ".build", "api.inputs.json"), "utf8"))).toEqual({ inputHash: hashBuildInputs(root), contentHash: first.contentHash });
    expect(existsSync(join(first.contextDir, "api.inputs.json"))).toBe(false);
  });

  it("gives the same content hash as a build without any cache when the cache is hit", async () => {
    const fresh = await bundleApi({ outDir: join(root, "fresh", "api"), root });
    expect(build).toHaveBeenCalledTimes(1);
    expect(fresh.contentHash).toBe(first.contentHash);
  }, 60_000);

  it("rebuilds and keeps the content hash when a source changes only in a comment", async () => {
    appendFileSync(join(root, "app", "src", "healthcheck.ts"), "\n// a comment esbuild drops\n");
    const again = await bundleApi({ root });
    expect(build).toHaveBeenCalledTimes(1);
    expect(again.contentHash).toBe(first.contentHash);
    await bundleApi({ root });
    expect(build).toHaveBeenCalledTimes(1);
  }, 60_000);

  it("rebuilds with a new content hash when a bundled source changes", async () => {
    const file = join(root, "app", "src", "healthcheck.ts");
    appendFileSync(file, '\nexport const buildCacheProbe = "changed";\n');
    const changed = await bundleApi({ root });
    expect(build).toHaveBeenCalledTimes(1);
    expect(changed.contentHash).not.toBe(first.contentHash);
    expect(readFileSync(join(changed.contextDir, "healthcheck.js"), "utf8")).toContain('"changed"');
    expect(hashDirectory(changed.contextDir)).toBe(changed.contentHash);
  }, 60_000);

  it("rebuilds when the lockfile changes", async () => {
    const before = hashBuildInputs(root);
    appendFileSync(join(root, "package-lock.json"), "\n");
    expect(hashBuildInputs(root)).not.toBe(before);
    await bundleApi({ root });
    expect(build).toHaveBeenCalledTimes(1);
  }, 60_000);

  it("rebuilds rather than trusting the stamp when the context was changed after it was written", async () => {
    const { contextDir, contentHash } = await bundleApi({ root });
    expect(build).not.toHaveBeenCalled();
    writeFileSync(join(contextDir, "server.js"), "tampered");
    const rebuilt = await bundleApi({ root });
    expect(build).toHaveBeenCalledTimes(1);
    expect(rebuilt.contentHash).toBe(contentHash);
    expect(hashDirectory(contextDir)).toBe(contentHash);
  }, 60_000);
});
