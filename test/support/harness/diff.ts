/**
 * The engine's step decision for one resource, as a pure function: compare the registered inputs
 * with the ones in state and choose same, update or replace, honouring ignoreChanges and
 * replaceOnChanges the way `pulumi up` does.
 */
import type { Props } from "./types";

/** What to do with one registered resource. */
export type StepOp = "create" | "same" | "update" | "replace";

/** The decision and why. */
export interface StepPlan {
  readonly op: StepOp;
  /** Input fields that differ (after ignoreChanges). */
  readonly changed: readonly string[];
  /** Changed fields that force a replacement. */
  readonly replaceBecause: readonly string[];
  /** The inputs to apply: the new ones, with ignored fields kept at their old values. */
  readonly inputs: Props;
}

/** The pseudo-field under which a materializer's fingerprint takes part in the diff. */
export const FINGERPRINT_FIELD = "(content)";

/** Describes the materializer for {@link planStep}. */
export interface DiffSchema {
  readonly updatable: ReadonlySet<string>;
  readonly canUpdate: boolean;
}

/** Previous state of the resource, when it exists. */
export interface OldState {
  readonly type: string;
  readonly inputs: Props;
  readonly fingerprint?: string;
}

/** JSON with sorted keys, so that equal values compare equal whatever their key order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return v === undefined ? "null" : JSON.stringify(v);
}

/** `news` with each ignored field at its old value (or absent when it had none). */
export function withIgnored(news: Props, olds: Props, ignoreChanges: readonly string[]): Props {
  return Object.fromEntries(
    Object.entries({ ...news, ...Object.fromEntries(ignoreChanges.map((f) => [f, olds[f]])) }).filter(([, v]) => v !== undefined),
  );
}

/**
 * Decides the step. `olds`/`news` are plain (unwrapped) inputs. ignoreChanges and replaceOnChanges
 * take top-level field names ("*" in replaceOnChanges means every field); nested paths are refused
 * because the harness does not implement them.
 */
export function planStep(
  type: string,
  old: OldState | undefined,
  news: Props,
  fingerprint: string | undefined,
  schema: DiffSchema,
  options: { readonly ignoreChanges: readonly string[]; readonly replaceOnChanges: readonly string[] },
): StepPlan {
  for (const p of [...options.ignoreChanges, ...options.replaceOnChanges]) {
    if (p !== "*" && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) {
      throw new Error(`harness: ${type}: ignoreChanges/replaceOnChanges path "${p}" is not implemented (top-level field names only)`);
    }
  }
  if (old === undefined) return { op: "create", changed: [], replaceBecause: [], inputs: news };

  const inputs = withIgnored(news, old.inputs, options.ignoreChanges);
  if (old.type !== type) return { op: "replace", changed: ["(type)"], replaceBecause: ["(type)"], inputs };

  const fields = new Set([...Object.keys(old.inputs), ...Object.keys(inputs)]);
  const changed = [...fields].filter((f) => canonical(old.inputs[f]) !== canonical(inputs[f])).sort();
  if ((old.fingerprint ?? "") !== (fingerprint ?? "")) changed.push(FINGERPRINT_FIELD);
  if (changed.length === 0) return { op: "same", changed, replaceBecause: [], inputs };

  const all = options.replaceOnChanges.includes("*");
  const replaceBecause = changed.filter(
    (f) => all || options.replaceOnChanges.includes(f) || (f === FINGERPRINT_FIELD ? !schema.canUpdate : !schema.updatable.has(f)),
  );
  const op: StepOp = replaceBecause.length === 0 && schema.canUpdate ? "update" : "replace";
  return { op, changed, replaceBecause: op === "replace" && replaceBecause.length === 0 ? changed : replaceBecause, inputs };
}
