/** The three roles of the CRM. */
export const ROLES = ["admin", "staff", "kiosk"] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, loaded from the database on every request (never trusted from the token alone). */
export interface AuthContext {
  readonly userId: string;
  readonly email: string;
  readonly role: Role;
  readonly sessionId: string;
  readonly mustChangePassword: boolean;
}

declare module "express-serve-static-core" {
  interface Request {
    auth?: AuthContext;
  }
}
