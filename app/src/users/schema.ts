import { z } from "zod";
import { MAX_PASSWORD_LENGTH } from "../auth/password";
import { ROLES } from "../auth/types";
import { emailSchema, pagingFields } from "../http/schemas";

const password = z.string().min(1).max(MAX_PASSWORD_LENGTH);

/** POST /users */
export const createUserBody = z.strictObject({
  email: emailSchema,
  role: z.enum(ROLES),
  password,
  mustChangePassword: z.boolean().default(true),
});

/** PATCH /users/:id */
export const updateUserBody = z.strictObject({ role: z.enum(ROLES) });

/** POST /users/:id/reset-password */
export const resetPasswordBody = z.strictObject({ password });

/** GET /users */
export const listUsersQuery = z.strictObject({ ...pagingFields, role: z.enum(ROLES).optional() });
