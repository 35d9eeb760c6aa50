import { describe, expect, it } from "vitest";
import { canonical, FINGERPRINT_FIELD, planStep } from "../support/harness/diff";

const schema = { updatable: new Set(["memory", "restart"]), canUpdate: true };
const none = { ignoreChanges: [], replaceOnChanges: [] };
const T = "docker:index/container:Container";

describe("planStep", () => {
  it("creates when the resource is not in state", () => {
    expect(planStep(T, undefined, { image: "a" }, undefined, schema, none).op).toBe("create");
  });

  it("does nothing when inputs are equal whatever their key order", () => {
    const plan = planStep(T, { type: T, inputs: { a: { x: 1, y: 2 }, image: "a" } }, { image: "a", a: { y: 2, x: 1 } }, undefined, schema, none);
    expect(plan).toMatchObject({ op: "same", changed: [] });
  });

  it("updates when only updatable fields changed", () => {
    const plan = planStep(T, { type: T, inputs: { image: "a", memory: 64 } }, { image: "a", memory: 128 }, undefined, schema, none);
    expect(plan).toMatchObject({ op: "update", changed: ["memory"], replaceBecause: [] });
  });

  it("replaces when a ForceNew field changed, naming it", () => {
    const plan = planStep(T, { type: T, inputs: { image: "a", memory: 64 } }, { image: "b", memory: 128 }, undefined, schema, none);
    expect(plan).toMatchObject({ op: "replace", changed: ["image", "memory"], replaceBecause: ["image"] });
  });

  it("replaces when a field is removed that the provider cannot update", () => {
    expect(planStep(T, { type: T, inputs: { image: "a", user: "1" } }, { image: "a" }, undefined, schema, none).op).toBe("replace");
  });

  it("replaces an updatable change when replaceOnChanges names the field", () => {
    const plan = planStep(T, { type: T, inputs: { memory: 64 } }, { memory: 128 }, undefined, schema, { ignoreChanges: [], replaceOnChanges: ["memory"] });
    expect(plan).toMatchObject({ op: "replace", replaceBecause: ["memory"] });
  });

  it("replaces any change when replaceOnChanges is *", () => {
    expect(planStep(T, { type: T, inputs: { restart: "no" } }, { restart: "always" }, undefined, schema, { ignoreChanges: [], replaceOnChanges: ["*"] }).op).toBe("replace");
  });

  it("keeps the old value of an ignored field and reports no change", () => {
    const plan = planStep(T, { type: T, inputs: { image: "a" } }, { image: "b" }, undefined, schema, { ignoreChanges: ["image"], replaceOnChanges: [] });
    expect(plan).toMatchObject({ op: "same", inputs: { image: "a" } });
  });

  it("replaces when the resource type changed", () => {
    expect(planStep(T, { type: "other:index/x:X", inputs: {} }, {}, undefined, schema, none).op).toBe("replace");
  });

  it("updates on a new fingerprint when the materializer can update", () => {
    const plan = planStep(T, { type: T, inputs: { a: 1 }, fingerprint: "old" }, { a: 1 }, "new", schema, none);
    expect(plan).toMatchObject({ op: "update", changed: [FINGERPRINT_FIELD] });
  });

  it("replaces on a new fingerprint when the materializer cannot update", () => {
    expect(planStep(T, { type: T, inputs: {}, fingerprint: "old" }, {}, "new", { updatable: new Set(), canUpdate: false }, none).op).toBe("replace");
  });

  it("replaces when the materializer has no update even for an updatable field", () => {
    expect(planStep(T, { type: T, inputs: { memory: 1 } }, { memory: 2 }, undefined, { updatable: new Set(["memory"]), canUpdate: false }, none).op).toBe("replace");
  });

  it("refuses nested ignoreChanges paths it does not implement", () => {
    expect(() => planStep(T, undefined, {}, undefined, schema, { ignoreChanges: ["labels[0].value"], replaceOnChanges: [] })).toThrow(
      'harness: docker:index/container:Container: ignoreChanges/replaceOnChanges path "labels[0].value" is not implemented (top-level field names only)',
    );
  });
});

describe("canonical", () => {
  it.each([
    [{ b: 1, a: [1, { d: 2, c: 3 }] }, '{"a":[1,{"c":3,"d":2}],"b":1}'],
    [{ a: undefined, b: null }, '{"b":null}'],
    ["x", '"x"'],
  ])("renders %j as %s", (v, expected) => {
    expect(canonical(v)).toBe(expected);
  });
});
