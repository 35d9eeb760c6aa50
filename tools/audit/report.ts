import { CHECKS } from "./checks";
import { EXCEPTIONS, type ExceptionId } from "./exceptions";
import type { Check, Result } from "./types";

const CELL = { PASS: "PASS", FAIL: "FAIL", EXCEPTION: "EXC" } as const;

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/**
 * Renders the containers × checks table, then every FAIL and EXCEPTION with its detail and
 * reason, then the exceptions in force. Plain text, stable order, no colour (CI logs).
 */
export function renderReport(stack: string, results: readonly Result[], checks: readonly Check[] = CHECKS): string {
  const containers = [...new Set(results.map((r) => r.container))];
  const cell = new Map(results.map((r) => [`${r.checkId}\u0000${r.container}`, r]));
  const titleWidth = 58;
  // Columns drop the shared krc-<stack>- prefix so that eight containers still fit a terminal.
  const prefix = `krc-${stack}-`;
  const short = containers.map((c) => (containers.every((x) => x.startsWith(prefix)) ? c.slice(prefix.length) : c));
  const widths = short.map((c) => Math.max(c.length, 4));
  const lines: string[] = [`krc audit: stack ${stack}, ${containers.length} container(s), CIS Docker Benchmark v1.6.0 ids`, ""];
  if (short[0] !== containers[0]) lines.push(`containers: ${prefix}<column>`, "");
  lines.push([pad("check", 10), pad("title", titleWidth), ...short.map((c, i) => pad(c, widths[i] ?? 4))].join(" "));
  for (const check of checks) {
    const row = containers.map((c, i) => pad(CELL[cell.get(`${check.id}\u0000${c}`)?.status ?? "FAIL"], widths[i] ?? 4));
    lines.push([pad(check.id, 10), pad(truncate(check.title, titleWidth), titleWidth), ...row].join(" "));
  }
  const notable = results.filter((r) => r.status !== "PASS");
  if (notable.length > 0) lines.push("", "Findings:");
  for (const r of notable) {
    const why = r.exception ? ` [exception ${r.exception}]` : "";
    lines.push(`  ${r.status.padEnd(9)} ${r.checkId.padEnd(10)} ${r.container}: ${r.detail}${why}`);
  }
  const used = [...new Set(notable.flatMap((r) => (r.exception ? [r.exception] : [])))] as ExceptionId[];
  if (used.length > 0) lines.push("", "Exceptions in force (tools/audit/exceptions.ts):");
  for (const id of used) {
    const e = EXCEPTIONS[id];
    lines.push(`  ${id} [${e.checks.join(", ")}; ${e.services.join(", ")}]: not applied: ${e.measure}.`);
    lines.push(`    reason: ${e.reason}.`, `    compensation: ${e.compensation}.`);
  }
  const counts = { PASS: 0, FAIL: 0, EXCEPTION: 0 };
  for (const r of results) counts[r.status] += 1;
  lines.push("", `${counts.PASS} PASS, ${counts.EXCEPTION} EXCEPTION, ${counts.FAIL} FAIL`);
  return lines.join("\n");
}
