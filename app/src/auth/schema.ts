import { z } from "zod";
import { emailSchema } from "../http/schemas";
import { MAX_PASSWORD_LENGTH } from "./password";

/** POST /auth/login: the length cap is checked before any hashing happens. */
export const loginBody = z.strictObject({
  email: emailSchema,
  password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
});

/** POST /auth/password */
export const changePasswordBody = z.strictObject({
  currentPassword: z.string().min(1).max(MAX_PASSWORD_LENGTH),
  newPassword: z.string().min(1).max(MAX_PASSWORD_LENGTH),
});
