import { describe, expect, it } from "vitest";
import { formatFigure, formatNumber, median, missBy, parseDockerSize, percentile, ratioOf, targetMet, type Figure } from "../../bench/lib/stats";

describe("median", () => {
  it.each([
    [[3], 3],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
  ])("returns the middle of %j as %d when given an unsorted list", (values, expected) => {
    expect(median(values)).toBe(expected);
  });

  it("throws when the list is empty", () => {
    expect(() => median([])).toThrow("median of an empty list");
  });
});

describe("percentile", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);

  it.each([
    [50, 50],
    [99, 99],
    [100, 100],
    [1, 1],
  ])("returns an observed value (nearest rank) for p%d when given 1..100 reversed", (p, expected) => {
    expect(percentile(hundred, p)).toBe(expected);
  });

  it("returns the largest value for p99 when there are fewer than 100 samples", () => {
    expect(percentile([5, 1, 9, 3], 99)).toBe(9);
  });

  it.each([0, -1, 101, Number.NaN])("throws when p is %d", (p) => {
    expect(() => percentile([1], p)).toThrow("percentile must be in (0, 100]");
  });
});

describe("targets and ratios", () => {
  const figure = (value: number, baseline: number | undefined, target?: Figure["target"]): Figure => ({
    section: "s",
    name: "f",
    value,
    unit: "ms",
    ...(baseline === undefined ? {} : { baseline: { name: "b", value: baseline } }),
    ...(target ? { target } : {}),
  });

  it("computes the ratio to the baseline when one is given", () => {
    expect(ratioOf(figure(30, 20))).toBe(1.5);
    expect(ratioOf(figure(30, undefined))).toBeUndefined();
    expect(ratioOf(figure(30, 0))).toBeUndefined();
  });

  it.each([
    [{ kind: "ratioAtMost", limit: 2 } as const, 39, 20, true],
    [{ kind: "ratioAtMost", limit: 2 } as const, 41, 20, false],
    [{ kind: "ratioAtLeast", limit: 0.5 } as const, 10, 20, true],
    [{ kind: "ratioAtLeast", limit: 0.5 } as const, 9, 20, false],
    [{ kind: "valueAtMost", limit: 50 } as const, 50, 1, true],
    [{ kind: "valueAtMost", limit: 50 } as const, 51, 1, false],
  ])("judges %j with value %d and baseline %d as %s", (target, value, baseline, met) => {
    expect(targetMet(figure(value, baseline, target))).toBe(met);
  });

  it("does not judge a ratio target when there is no baseline", () => {
    expect(targetMet(figure(1, undefined, { kind: "ratioAtMost", limit: 2 }))).toBeUndefined();
  });

  it("says by how much a target is missed when it is missed", () => {
    expect(missBy(figure(75, 1, { kind: "valueAtMost", limit: 50 }))).toBe("25.0 ms over (50.0%)");
    expect(missBy(figure(5, 20, { kind: "ratioAtLeast", limit: 0.5 }))).toBe("ratio 0.250 is 0.250 under");
    expect(missBy(figure(50, 20, { kind: "ratioAtMost", limit: 2 }))).toBe("ratio 2.50 is 0.500 over");
    expect(missBy(figure(10, 20, { kind: "ratioAtMost", limit: 2 }))).toBeUndefined();
  });

  it("prints the figure, its baseline, the ratio and the verdict on one line when formatted", () => {
    const line = formatFigure({ ...figure(120, 40, { kind: "ratioAtMost", limit: 2 }), name: "prod program", note: "5 runs" });
    expect(line).toBe("prod program: 120 ms | baseline (b) 40.0 ms | ratio 3.00x | target ratio <= 2.00: MISSED: ratio 3.00 is 1.00 over | 5 runs");
  });
});

describe("formatNumber", () => {
  it.each([
    [1234.5, "1235"],
    [12.345, "12.3"],
    [1.2345, "1.23"],
    [0.012345, "0.0123"],
  ])("prints %d as %s", (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });
});

describe("parseDockerSize", () => {
  it.each([
    ["0B", 0],
    ["512B", 512],
    ["3.4kB", 3400],
    ["12.5MiB", 13_107_200],
    ["1.5GiB", 1_610_612_736],
    ["1.2GB", 1_200_000_000],
    [" 256MiB ", 268_435_456],
  ])("reads %s as %d bytes", (text, bytes) => {
    expect(parseDockerSize(text)).toBe(bytes);
  });

  it.each(["", "12 parsecs", "MiB", "-1B"])("throws when the size is %j", (text) => {
    expect(() => parseDockerSize(text)).toThrow("unrecognized docker size");
  });
});
