/**
 * Pure statistics and figure formatting for the benchmarks. Every figure is reported next to a
 * baseline measured in the same run, because absolute times on this machine drift between runs.
 */

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of an empty list");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in (0, 100]) of a non-empty list: a value that was actually observed. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error("percentile of an empty list");
  if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100], got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[rank - 1] as number;
}

/** What a target compares: the figure itself, or its ratio to the baseline. */
export type Target =
  | { readonly kind: "ratioAtMost"; readonly limit: number }
  | { readonly kind: "ratioAtLeast"; readonly limit: number }
  | { readonly kind: "valueAtMost"; readonly limit: number };

/** One measured figure with the baseline it is compared to. */
export interface Figure {
  readonly section: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: { readonly name: string; readonly value: number };
  readonly target?: Target;
  /** How the figure was obtained (runs, counts), shown after it. */
  readonly note?: string;
}

/** value / baseline, or undefined without a usable baseline. */
export function ratioOf(figure: Figure): number | undefined {
  if (!figure.baseline || figure.baseline.value === 0) return undefined;
  return figure.value / figure.baseline.value;
}

/** Whether the figure meets its target; undefined when it has none (or no baseline for a ratio target). */
export function targetMet(figure: Figure): boolean | undefined {
  const t = figure.target;
  if (!t) return undefined;
  if (t.kind === "valueAtMost") return figure.value <= t.limit;
  const ratio = ratioOf(figure);
  if (ratio === undefined) return undefined;
  return t.kind === "ratioAtMost" ? ratio <= t.limit : ratio >= t.limit;
}

/** Three significant digits at most, without exponent notation for the ranges seen here. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

function describeTarget(t: Target): string {
  switch (t.kind) {
    case "ratioAtMost":
      return `ratio <= ${formatNumber(t.limit)}`;
    case "ratioAtLeast":
      return `ratio >= ${formatNumber(t.limit)}`;
    case "valueAtMost":
      return `<= ${formatNumber(t.limit)}`;
  }
}

/** How far a missed target is off, in the figure's own terms. */
export function missBy(figure: Figure): string | undefined {
  if (targetMet(figure) !== false || !figure.target) return undefined;
  const t = figure.target;
  if (t.kind === "valueAtMost") return `${formatNumber(figure.value - t.limit)} ${figure.unit} over (${formatNumber((figure.value / t.limit - 1) * 100)}%)`;
  const ratio = ratioOf(figure) as number;
  return t.kind === "ratioAtMost" ? `ratio ${formatNumber(ratio)} is ${formatNumber(ratio - t.limit)} over` : `ratio ${formatNumber(ratio)} is ${formatNumber(t.limit - ratio)} under`;
}

/** One report line: figure, baseline, ratio, target verdict, note. */
export function formatFigure(figure: Figure): string {
  const parts = [`${figure.name}: ${formatNumber(figure.value)} ${figure.unit}`];
  if (figure.baseline) {
    parts.push(`baseline (${figure.baseline.name}) ${formatNumber(figure.baseline.value)} ${figure.unit}`);
    const ratio = ratioOf(figure);
    parts.push(`ratio ${ratio === undefined ? "n/a" : `${formatNumber(ratio)}x`}`);
  }
  if (figure.target) {
    const met = targetMet(figure);
    const verdict = met === undefined ? "not judged" : met ? "met" : `MISSED: ${missBy(figure) ?? ""}`;
    parts.push(`target ${describeTarget(figure.target)}: ${verdict}`);
  }
  if (figure.note) parts.push(figure.note);
  return parts.join(" | ");
}

/** Mebibytes from bytes, for memory and image figures. */
export function mib(bytes: number): number {
  return bytes / (1024 * 1024);
}

/**
 * Parses a size as `docker stats` and `docker history` print it ("12.5MiB", "1.2GB", "0B", "3.4kB")
 * into bytes. Throws on anything else, so a format change fails loudly instead of reading as 0.
 */
export function parseDockerSize(text: string): number {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKMGT]?i?B)\s*$/.exec(text);
  if (!match) throw new Error(`unrecognized docker size ${JSON.stringify(text)}`);
  const value = Number(match[1]);
  const unit = match[2] as string;
  const binary = unit.includes("i");
  const base = binary ? 1024 : 1000;
  const power = { B: 0, k: 1, K: 1, M: 2, G: 3, T: 4 }[unit[0] === "B" ? "B" : (unit[0] as "k" | "K" | "M" | "G" | "T")];
  return Math.round(value * base ** power);
}
