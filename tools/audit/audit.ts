import { CHECKS } from "./checks";
import type { AuditInput, Check, Result } from "./types";

/** Runs every check on every container; pure, so it is tested on fixtures. */
export function runAudit(input: AuditInput, checks: readonly Check[] = CHECKS): Result[] {
  return input.subjects.flatMap((subject) =>
    checks.map((check) => ({ ...check.run(subject, input), checkId: check.id, container: subject.name })),
  );
}

/** True when any result failed. */
export function hasFailures(results: readonly Result[]): boolean {
  return results.some((r) => r.status === "FAIL");
}
