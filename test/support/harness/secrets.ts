/**
 * Pulumi's secret envelope: how secret values travel between the SDK and the engine. The harness
 * unwraps envelopes before a materializer sees the inputs, remembers which fields were secret, and
 * wraps outputs again so the program keeps them secret.
 */
import type { Props } from "./types";

/** The well-known key that marks a special value in Pulumi's wire format. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
/** The value of {@link SIG_KEY} that marks a secret. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A secret as the SDK serializes it. */
export interface SecretEnvelope {
  readonly [SIG_KEY]: typeof SECRET_SIG;
  readonly value: unknown;
}

/** True when `v` is a secret envelope. */
export function isSecretEnvelope(v: unknown): v is SecretEnvelope {
  return typeof v === "object" && v !== null && !Array.isArray(v) && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Wraps a value in a secret envelope (idempotent). */
export function wrapSecret(value: unknown): SecretEnvelope {
  return isSecretEnvelope(value) ? value : { [SIG_KEY]: SECRET_SIG, value };
}

/** True when `v` is, or contains anywhere inside it, a secret envelope. */
export function containsSecret(v: unknown): boolean {
  if (isSecretEnvelope(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecret);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsSecret);
  return false;
}

/**
 * Removes every envelope, returning the plain value, and collects the plain secret values found
 * (strings only, to redact them from anything printed).
 */
export function unwrapDeep(v: unknown, found: Set<string> = new Set()): unknown {
  if (isSecretEnvelope(v)) {
    const inner = unwrapDeep(v.value, found);
    collectStrings(inner, found);
    return inner;
  }
  if (Array.isArray(v)) return v.map((x) => unwrapDeep(x, found));
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = unwrapDeep(x, found);
    return out;
  }
  return v;
}

function collectStrings(v: unknown, found: Set<string>): void {
  if (typeof v === "string") {
    // Very short strings ("1", "a") would redact ordinary text, and file paths inside a secret
    // object (an upload's `file`) are not secret; generated secrets are long and never look like paths.
    if (v.length >= 6 && !/^\/[A-Za-z0-9._/-]*$/.test(v)) found.add(v);
  } else if (Array.isArray(v)) v.forEach((x) => collectStrings(x, found));
  else if (typeof v === "object" && v !== null) Object.values(v).forEach((x) => collectStrings(x, found));
}

/** Top-level field names whose value is or contains a secret. */
export function secretFields(props: Props): Set<string> {
  return new Set(Object.keys(props).filter((k) => containsSecret(props[k])));
}

/** Wraps the named top-level fields of plain `props` in envelopes. */
export function wrapFields(props: Props, fields: ReadonlySet<string>): Props {
  const out: Props = {};
  for (const [k, v] of Object.entries(props)) out[k] = fields.has(k) && v !== undefined ? wrapSecret(v) : v;
  return out;
}

/**
 * Replaces every known secret value in `text` by `[secret]`, for error messages and logs that may
 * quote what a container printed.
 */
export class Redactor {
  private readonly values = new Set<string>();

  /** Remembers the secret strings inside `v` (envelopes or plain values known to be secret). */
  add(v: unknown): void {
    if (isSecretEnvelope(v)) collectStrings(unwrapDeep(v), this.values);
    else if (typeof v === "string") collectStrings(v, this.values);
    else unwrapDeep(v, this.values);
  }

  redact(text: string): string {
    let out = text;
    // Longest first so a secret containing another is replaced whole.
    for (const s of [...this.values].sort((a, b) => b.length - a.length)) out = out.split(s).join("[secret]");
    return out;
  }
}
