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

/** page / pageSize query parameters (1-based page, at most 100 per page). */
export const pagingFields = {
  page: z.coerce.number({ message: "must be a number" }).int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number({ message: "must be a number" }).int().min(1).max(100).default(20),
};

/** A bounded, trimmed text field without control characters. */
export function text(min: number, max: number) {
  return z
    .string()
    .trim()
    .min(min)
    .max(max)
    .refine((value) => ![...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), "must not contain control characters");
}
