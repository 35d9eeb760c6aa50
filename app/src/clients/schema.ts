import { z } from "zod";
import { emailSchema, pagingFields, text } from "../http/schemas";

/** What a phone number may look like, for error messages. */
export const PHONE_RULE = "must be a 10-digit US number; spaces, dashes, parentheses and a leading +1 are allowed";

/**
 * Normalizes a phone number the way the guide validates it: strip spaces, dashes and parentheses
 * and a leading +1, then exactly 10 digits remain. Returns undefined for anything else.
 */
export function normalizePhone(value: string): string | undefined {
  if (value.length > 32) return undefined;
  const cleaned = value.replace(/[\s\-()]/g, "").replace(/^\+1/, "");
  return /^[0-9]{10}$/.test(cleaned) ? cleaned : undefined;
}

/** A phone field that validates and normalizes in one step. */
export const phoneSchema = z.string().transform((value, ctx) => {
  const phone = normalizePhone(value);
  if (phone === undefined) {
    ctx.addIssue({ code: "custom", message: PHONE_RULE, params: { rule: "phone" } });
    return z.NEVER;
  }
  return phone;
});

const name = text(1, 200);

/** POST /clients */
export const createClientBody = z.strictObject({
  name,
  phone: phoneSchema,
  email: emailSchema.nullable().optional(),
});

/** PATCH /clients/:id: at least one field. */
export const updateClientBody = z
  .strictObject({ name: name.optional(), phone: phoneSchema.optional(), email: emailSchema.nullable().optional() })
  .refine((body) => Object.keys(body).length > 0, "must change at least one field");

/** GET /clients: `q` matches name or email (substring, case-insensitive) or the phone's digits. */
export const listClientsQuery = z.strictObject({ ...pagingFields, q: text(1, 100).optional() });

/** GET /kiosk/clients */
export const kioskLookupQuery = z.strictObject({ phone: phoneSchema });
