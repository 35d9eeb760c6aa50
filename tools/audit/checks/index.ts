import { EXCEPTIONS, type ExceptionId } from "../exceptions";
import type { Check } from "../types";
import { IMAGE_CHECKS } from "./image";
import { ISOLATION_CHECKS } from "./isolation";
import { LIFECYCLE_CHECKS } from "./lifecycle";
import { NETWORK_CHECKS } from "./network";
import { PRIVILEGE_CHECKS } from "./privileges";
import { excepted, isNeverStartedWriter } from "./util";

// CIS ids sort numerically (5.9 before 5.10); krc's own checks come last.
function order(id: string): number[] {
  return id.startsWith("KRC") ? [99] : id.split(".").map(Number);
}

function compare(a: Check, b: Check): number {
  const [x, y] = [order(a.id), order(b.id)];
  for (let i = 0; i < Math.max(x.length, y.length); i += 1) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.id.localeCompare(b.id);
}

const WRITER_EXCEPTIONS: readonly ExceptionId[] = ["files-writer-writable-root", "files-writer-never-started"];

/**
 * A failure of a runtime-only check on a files writer that never started becomes that
 * exception; once the writer has started, the check's own verdict stands.
 */
function exemptWriters(check: Check): Check {
  const id = WRITER_EXCEPTIONS.find((e) => EXCEPTIONS[e].checks.includes(check.id));
  if (!id) return check;
  return {
    ...check,
    run(subject, input) {
      const finding = check.run(subject, input);
      return finding.status === "FAIL" && isNeverStartedWriter(subject) ? excepted(id, subject, `${finding.detail} (never started)`) : finding;
    },
  };
}

/** Every check the audit runs, in benchmark order. */
export const CHECKS: readonly Check[] = [
  ...PRIVILEGE_CHECKS,
  ...ISOLATION_CHECKS,
  ...LIFECYCLE_CHECKS,
  ...NETWORK_CHECKS,
  ...IMAGE_CHECKS,
]
  .map(exemptWriters)
  .sort(compare);
