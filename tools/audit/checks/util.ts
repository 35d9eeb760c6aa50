import { ROLE_FILES_WRITER } from "../../../policy/requirements";
import { EXCEPTIONS, type ExceptionId } from "../exceptions";
import type { AuditSubject, Finding } from "../types";

/** A passing finding. */
export function pass(detail: string): Finding {
  return { status: "PASS", detail };
}

/** A failing finding. */
export function fail(detail: string): Finding {
  return { status: "FAIL", detail };
}

/**
 * EXCEPTION when the listed exception covers this container's service, FAIL otherwise: an
 * exception never silently widens to a service it was not written for.
 */
export function excepted(id: ExceptionId, subject: AuditSubject, detail: string): Finding {
  const exception = EXCEPTIONS[id];
  if (subject.service !== undefined && exception.services.includes(subject.service)) {
    return { status: "EXCEPTION", detail, exception: id };
  }
  return fail(`${detail} (exception ${id} does not cover service ${subject.service ?? "<unlabelled>"})`);
}

/** Docker returns null for empty lists; treat both alike. */
export function list<T>(value: readonly T[] | null | undefined): readonly T[] {
  return value ?? [];
}

/** A files writer the engine reports as created and never started. */
export function isNeverStartedWriter(s: AuditSubject): boolean {
  const state = s.container.State;
  return s.role === ROLE_FILES_WRITER && state.Status === "created" && !state.Running && (state.StartedAt ?? "").startsWith("0001-");
}
