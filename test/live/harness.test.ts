/**
 * The harness's docker materializers against the real engine, with a small fixture program
 * (test/harness/fixtures/basic): engine-like second runs, in-place updates, replacements that
 * rotate a secret, deletes, teardown, and the provider's refusal to upload into a read-only root.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../support/harness/providers/docker/engine";
import { changes, leftovers, removeLeftovers, runHarness } from "../support/harness/run";

const STACK = "harnesstest";
const state = join(mkdtempSync(join(tmpdir(), "harness-live-")), "state.json");
const base = ["--stack", STACK, "--project", "test/harness/fixtures/basic", "--state", state];
const up = (...sets: string[]): ReturnType<typeof runHarness> => runHarness(["up", ...base, ...sets.flatMap((s) => ["--set", s])]);

async function boxToken(): Promise<{ id: string; token: string }> {
  const c = docker.getContainer(`fx-${STACK}-box`);
  const exec = await c.exec({ Cmd: ["cat", "/run/secrets/token"], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  // Frames carry an 8-byte header; the token is 64 hex characters.
  const token = /[0-9a-f]{64}/.exec(Buffer.concat(chunks).toString("latin1"))?.[0] ?? "";
  return { id: (await c.inspect()).Id, token };
}

describe("the harness on the local Docker engine", () => {
  beforeAll(async () => {
    await removeLeftovers(STACK);
  });

  afterAll(async () => {
    await runHarness(["down", ...base]);
    await removeLeftovers(STACK);
  });

  it("deploys the fixture, then changes nothing on a second run with the same inputs", async () => {
    const first = await up();
    expect(first.stderr).toBe("");
    expect(first.summary).toMatchObject({ create: 5 });
    const before = await boxToken();
    expect(before.token).toMatch(/^[0-9a-f]{64}$/);
    expect(first.stdout).not.toContain(before.token);
    const second = await up();
    expect(changes(second.summary)).toBe(0);
    expect((await boxToken()).id).toBe(before.id);
  });

  it("updates the memory limit in place, keeping the container", async () => {
    const before = await boxToken();
    const run = await up("fx:memoryMb=96");
    expect(run.summary).toMatchObject({ update: 1, replace: 0, create: 0, delete: 0 });
    const info = await docker.getContainer(`fx-${STACK}-box`).inspect();
    expect(info.Id).toBe(before.id);
    expect(info.HostConfig.Memory).toBe(96 * 1024 * 1024);
  });

  it("rotates the token when its keeper changes: new value in the container, old one gone", async () => {
    const before = await boxToken();
    const run = await up("fx:memoryMb=96", "fx:tokenVersion=2");
    expect(run.summary).toMatchObject({ replace: 3, delete: 0 });
    const after = await boxToken();
    expect(after.token).toMatch(/^[0-9a-f]{64}$/);
    expect(after.token).not.toBe(before.token);
    expect(after.id).not.toBe(before.id);
    expect(run.stdout + run.stderr).not.toContain(after.token);
  });

  it("deletes a resource the program no longer declares", async () => {
    const run = await up("fx:memoryMb=96", "fx:tokenVersion=2", "fx:withContainer=false");
    expect(run.summary).toMatchObject({ delete: 1, create: 0 });
    expect((await leftovers(STACK)).containers).toEqual([`/fx-${STACK}-writer`]);
  });

  it("refuses an upload into a container with a read-only root, as the docker provider's API call does", async () => {
    const run = await up("fx:memoryMb=96", "fx:tokenVersion=2", "fx:uploadIntoBox=true");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`unable to upload volume content /run/secrets/token: (HTTP code 500) server error - container rootfs is marked read-only`);
    // The failed container is removed, as the provider leaves nothing half-created.
    expect((await leftovers(STACK)).containers).toEqual([`/fx-${STACK}-writer`]);
  });

  it("removes everything on down and leaves nothing labeled with the stack", async () => {
    const run = await runHarness(["down", ...base]);
    expect(run.code).toBe(0);
    expect(await leftovers(STACK)).toEqual({ containers: [], networks: [], volumes: [] });
  });
});
