/** The Docker Engine API client the docker materializers share, and small helpers around it. */
import Docker from "dockerode";

/** The local engine, the only one the harness deploys to. */
export const docker = new Docker({ socketPath: "/var/run/docker.sock" });

/** True for the engine's 404 (the object is already gone). */
export function isNotFound(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { statusCode?: number }).statusCode === 404;
}

/** The docker provider's label blocks (`[{label, value}]`) as the Engine API's map. */
export function labelMap(labels: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of (labels ?? []) as { label: string; value: string }[]) out[l.label] = l.value;
  return out;
}

/** A short random suffix, as Pulumi's auto-naming appends to a logical name. */
export function autoName(logical: string): string {
  return `${logical}-${Math.random().toString(16).slice(2, 9)}`;
}

/** Throws when a nested object sets a field the materializer does not implement. */
export function checkFields(type: string, where: string, value: unknown, allowed: readonly string[]): void {
  if (value === undefined || value === null) return;
  const items = Array.isArray(value) ? value : [value];
  for (const item of items) {
    for (const k of Object.keys(item as object)) {
      if (!allowed.includes(k)) throw new Error(`harness: ${type} input "${where}.${k}" is not implemented`);
    }
  }
}
