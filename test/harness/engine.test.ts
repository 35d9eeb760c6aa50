import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Engine, mockUrn, type Registration } from "../support/harness/engine";
import { SECRET_SIG, SIG_KEY } from "../support/harness/secrets";
import { StateStore, type ResourceOptions } from "../support/harness/state";
import type { Materializer, Props } from "../support/harness/types";

const T = "test:index/thing:Thing";
const secret = (value: unknown): Props => ({ [SIG_KEY]: SECRET_SIG, value });

/** A materializer that records what it is asked to do, in order. */
function recorder(log: string[]): Materializer {
  let n = 0;
  return {
    type: T,
    inputs: new Set(["size", "color", "token"]),
    updatable: new Set(["size"]),
    async create(ctx, inputs) {
      n += 1;
      log.push(`create ${ctx.name}`);
      return { id: `${ctx.name}-${n}`, outputs: { ...inputs, made: n } };
    },
    async update(ctx, id, _olds, news) {
      log.push(`update ${ctx.name} ${id}`);
      return { ...news, made: 0 };
    },
    async delete(ctx, id) {
      log.push(`delete ${ctx.name} ${id}`);
    },
  };
}

const noOptions: ResourceOptions = { protect: false, deleteBeforeReplace: false, retainOnDelete: false, ignoreChanges: [], replaceOnChanges: [], deletedWith: "", additionalSecretOutputs: [] };

function reg(name: string, extra: Partial<Omit<Registration, "options">> & { options?: Partial<ResourceOptions> } = {}): Registration {
  return { type: T, name, custom: true, parent: "", providerRef: "", dependencies: [], importId: "", unsupported: [], ...extra, options: { ...noOptions, ...extra.options } };
}

function engine(path: string, log: string[], lines: string[] = []): Engine {
  return new Engine({ project: "p", stack: "s", store: new StateStore(path), materializers: [recorder(log)], log: (l) => lines.push(l) });
}

function statePath(): string {
  return join(mkdtempSync(join(tmpdir(), "harness-engine-")), "state.json");
}

describe("Engine", () => {
  it("refuses a resource type it has no materializer for", async () => {
    const e = engine(statePath(), []);
    await expect(e.register(reg("x", { type: "aws:s3/bucket:Bucket" }), {})).rejects.toThrow(
      "harness: resource type aws:s3/bucket:Bucket is not implemented (urn:pulumi:s::p::aws:s3/bucket:Bucket::x)",
    );
  });

  it("refuses an input field the materializer does not implement", async () => {
    const e = engine(statePath(), []);
    await expect(e.register(reg("x"), { size: 1, shape: "round" })).rejects.toThrow(`harness: ${T} input "shape" is not implemented (x)`);
  });

  it("refuses resource options it does not implement", async () => {
    const e = engine(statePath(), []);
    await expect(e.register(reg("x", { unsupported: ["customTimeouts"] }), {})).rejects.toThrow("resource options not implemented: customTimeouts");
  });

  it("refuses an explicit provider of a package it cannot reach", async () => {
    const e = engine(statePath(), []);
    await expect(e.register(reg("cf", { type: "pulumi:providers:cloudflare" }), { apiToken: "x" })).rejects.toThrow(
      "harness: provider cloudflare is not implemented (urn:pulumi:s::p::pulumi:providers:cloudflare::cf); the harness cannot reach its service",
    );
  });

  it("creates, then does nothing, then updates, then replaces create-before-delete", async () => {
    const path = statePath();
    const log: string[] = [];
    let e = engine(path, log);
    await e.register(reg("a"), { size: 1, color: "red" });
    await e.finishUp();
    await e.flush();
    e = engine(path, log);
    const same = await e.register(reg("a"), { color: "red", size: 1 });
    expect(same).toEqual({ id: "a-1", state: { size: 1, color: "red", made: 1 } });
    await e.finishUp();
    await e.flush();
    expect(e.summary).toEqual({ create: 0, update: 0, replace: 0, delete: 0, same: 1 });
    e = engine(path, log);
    await e.register(reg("a"), { size: 2, color: "red" });
    await e.finishUp();
    await e.flush();
    e = engine(path, log);
    await e.register(reg("a"), { size: 2, color: "blue" });
    await e.finishUp();
    await e.flush();
    expect(e.summary).toMatchObject({ replace: 1, delete: 0 });
    // The new one exists before the old one goes (the default, create-before-delete).
    expect(log).toEqual(["create a", "update a a-1", "create a", "delete a a-1"]);
  });

  it("deletes first when deleteBeforeReplace is set, taking dependents down before it", async () => {
    const path = statePath();
    const log: string[] = [];
    let e = engine(path, log);
    await e.register(reg("net"), { color: "red" });
    await e.register(reg("app", { dependencies: [mockUrn("p", "s", "", T, "net")] }), { color: "x" });
    await e.finishUp();
    await e.flush();
    log.length = 0;
    e = engine(path, log);
    await e.register(reg("net", { options: { deleteBeforeReplace: true } }), { color: "blue" });
    await e.register(reg("app", { dependencies: [mockUrn("p", "s", "", T, "net")] }), { color: "x" });
    await e.finishUp();
    expect(log).toEqual(["delete app app-2", "delete net net-1", "create net", "create app"]);
    expect(e.summary).toMatchObject({ replace: 2, create: 0, delete: 0 });
  });

  it("deletes what the program no longer registers, dependents first", async () => {
    const path = statePath();
    const log: string[] = [];
    let e = engine(path, log);
    const base = mockUrn("p", "s", "", T, "base");
    await e.register(reg("base"), {});
    await e.register(reg("mid", { dependencies: [base] }), {});
    await e.register(reg("top", { dependencies: [mockUrn("p", "s", "", T, "mid")] }), {});
    await e.finishUp();
    await e.flush();
    log.length = 0;
    e = engine(path, log);
    await e.finishUp();
    expect(log).toEqual(["delete top top-3", "delete mid mid-2", "delete base base-1"]);
    expect(e.summary.delete).toBe(3);
  });

  it("deletes the children of a component in dependency order, not as one another's dependents", async () => {
    const path = statePath();
    const log: string[] = [];
    let e = engine(path, log);
    const parent = mockUrn("p", "s", "", "krc:x:Group", "group");
    await e.register(reg("group", { type: "krc:x:Group", custom: false }), {});
    await e.register(reg("first", { parent }), {});
    await e.register(reg("second", { parent, dependencies: [mockUrn("p", "s", parent, T, "first")] }), {});
    await e.finishUp();
    await e.flush();
    log.length = 0;
    e = engine(path, log);
    await e.destroy();
    expect(log).toEqual(["delete second second-2", "delete first first-1"]);
  });

  it("refuses to replace or delete a protected resource", async () => {
    const path = statePath();
    const log: string[] = [];
    let e = engine(path, log);
    await e.register(reg("data", { options: { protect: true } }), { color: "red" });
    await e.finishUp();
    await e.flush();
    e = engine(path, log);
    await expect(e.register(reg("data", { options: { protect: true } }), { color: "blue" })).rejects.toThrow(
      "harness: urn:pulumi:s::p::test:index/thing:Thing::data is protected and its change (color) requires a replacement; set protect: false first",
    );
    e = engine(path, log);
    await expect(e.destroy()).rejects.toThrow("is protected and cannot be deleted; set protect: false (or use down --force-unprotect)");
    expect(log).toEqual(["create data"]);
  });

  it("keeps a retainOnDelete resource on the engine and drops it from state", async () => {
    const path = statePath();
    const log: string[] = [];
    let e = engine(path, log);
    await e.register(reg("keep", { options: { retainOnDelete: true } }), {});
    await e.finishUp();
    await e.flush();
    e = engine(path, log);
    await e.destroy();
    await e.flush();
    expect(log).toEqual(["create keep"]);
    expect(e.empty).toBe(true);
  });

  it("hands materializers plain values and returns secret fields wrapped, encrypted in state", async () => {
    const path = statePath();
    const seen: Props[] = [];
    const m: Materializer = {
      ...recorder([]),
      async create(_ctx, inputs) {
        seen.push(inputs);
        return { id: "x", outputs: { ...inputs, made: 1 } };
      },
    };
    const lines: string[] = [];
    const e = new Engine({ project: "p", stack: "s", store: new StateStore(path), materializers: [m], log: (l) => lines.push(l) });
    const out = await e.register(reg("t", { options: { additionalSecretOutputs: ["made"] } }), { token: secret("tok-3f9a1c27"), size: 1 });
    await e.flush();
    expect(seen).toEqual([{ token: "tok-3f9a1c27", size: 1 }]);
    expect(out.state).toEqual({ token: secret("tok-3f9a1c27"), size: 1, made: secret(1) });
    expect(readFileSync(path, "utf8")).not.toContain("tok-3f9a1c27");
    expect(lines.join("\n")).not.toContain("tok-3f9a1c27");
  });

  it("passes an explicit provider's unwrapped config to the resources that use it", async () => {
    const seen: Props[] = [];
    const m: Materializer = {
      ...recorder([]),
      type: "postgresql:index/role:Role",
      async create(ctx) {
        seen.push(ctx.providerConfig);
        return { id: "r", outputs: {} };
      },
    };
    const e = new Engine({ project: "p", stack: "s", store: new StateStore(statePath()), materializers: [m], log: () => undefined });
    const provider = await e.register(reg("pg", { type: "pulumi:providers:postgresql" }), { host: "10.0.0.2", port: "5432", password: secret("pw-0a1b2c3d") });
    await e.register(reg("role", { type: "postgresql:index/role:Role", providerRef: `${mockUrn("p", "s", "", "pulumi:providers:postgresql", "pg")}::${String(provider.id)}` }), {});
    expect(seen).toEqual([{ host: "10.0.0.2", port: "5432", password: "pw-0a1b2c3d" }]);
  });
});
