import { z } from "zod";

/** An email address, trimmed and lowercased, at most 254 characters. */
export const emailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: "must be a valid email address" }))
  .transform((value) => value.toLowerCase());

/** `{ id }` path parameter as a UUID. */
export const idParams = z.strictObject({ id: z.uuid({ message: "must be a UUID" }) });

/**
 * A positive integer query parameter written as plain decimal digits. Checked before coercion:
 * Number() would also take "1e3", "0x10", " 5" or "1.0", which no client means as a page number.
 */
function countParam(max: number, fallback: number) {
  return z
    .string({ message: "must be plain decimal digits" })
    .regex(/^[0-9]+$/, "must be plain decimal digits")
    .transform(Number)
    .pipe(z.number().int().min(1).max(max))
    .default(fallback);
}

/** page / pageSize query parameters (1-based page, at most 100 per page). */
export const pagingFields = {
  page: countParam(100_000, 1),
  pageSize: countParam(100, 20),
};

/** Characters a text field refuses, each with the rule name a 400 reports. */
const FORBIDDEN_TEXT: readonly { readonly rule: string; readonly message: string; readonly matches: (code: number) => boolean }[] = [
  // C0, DEL and C1: the C1 block (U+0080–U+009F) is what a Latin-1 byte misread as UTF-8 turns into.
  { rule: "control_character", message: "must not contain control characters", matches: (c) => c < 0x20 || (c >= 0x7f && c <= 0x9f) },
  // Unpaired halves of a UTF-16 pair (a JSON "\ud800" escape) are not text and break other systems.
  { rule: "lone_surrogate", message: "must not contain unpaired surrogates", matches: (c) => c >= 0xd800 && c <= 0xdfff },
  // Bidi overrides and isolates reorder what a reader sees (Trojan Source style spoofing).
  { rule: "bidi_control", message: "must not contain bidirectional override or isolate characters", matches: (c) => (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) },
  // Zero-width and invisible format characters make look-alike names and hide content.
  { rule: "invisible_character", message: "must not contain zero-width or invisible format characters", matches: (c) => (c >= 0x200b && c <= 0x200f) || (c >= 0x2060 && c <= 0x2064) || c === 0xfeff },
];

/** The first forbidden-character rule `value` breaks, if any. */
export function forbiddenTextRule(value: string): { readonly rule: string; readonly message: string } | undefined {
  // Iterating a string yields code points; a lone surrogate comes out as its own one-unit string.
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    const hit = FORBIDDEN_TEXT.find((entry) => entry.matches(code));
    if (hit) return hit;
  }
  return undefined;
}

/**
 * A bounded, trimmed text field free of control characters (C0, DEL, C1), unpaired surrogates,
 * bidi overrides/isolates and zero-width/invisible format characters. A 400 names the rule.
 */
export function text(min: number, max: number) {
  return z
    .string()
    .trim()
    .min(min)
    .max(max)
    .superRefine((value, ctx) => {
      const broken = forbiddenTextRule(value);
      if (broken) ctx.addIssue({ code: "custom", message: broken.message, params: { rule: broken.rule } });
    });
}
