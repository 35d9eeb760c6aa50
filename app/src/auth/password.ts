import { hash, parseOptions, verify, type Algorithm, type Options } from "@node-rs/argon2";
import { dictionary } from "@zxcvbn-ts/language-common";

/**
 * argon2id at OWASP's minimum recommendation (19 MiB, 2 passes, 1 lane), stated explicitly so a
 * library default can never weaken it silently.
 */
// Algorithm is an ambient const enum (not readable under isolatedModules); 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;
const MEMORY_COST_KIB = 19_456;
const TIME_COST = 2;
export const ARGON2_OPTIONS: Readonly<Options> = Object.freeze({
  algorithm: ARGON2ID,
  memoryCost: MEMORY_COST_KIB,
  timeCost: TIME_COST,
  parallelism: 1,
  outputLen: 32,
});

/** Shortest password the policy accepts (the guide's rule). */
export const MIN_PASSWORD_LENGTH = 12;
/** Longest password accepted anywhere, so hashing cannot be turned into a denial of service. */
export const MAX_PASSWORD_LENGTH = 128;
/** Symbols the guide lists; at least one is required. */
export const PASSWORD_SYMBOLS = "!@#$%^&*()";

const COMMON = new Set<string>((dictionary["passwords-common"] as string[]).map((word) => word.toLowerCase()));

/** Hashes a password with argon2id and the explicit parameters. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

/** Verifies a password against a stored argon2 hash; a malformed hash is a mismatch. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** True when a stored hash was made with weaker parameters than the current ones. */
export function needsRehash(stored: string): boolean {
  const parsed = parseOptions(stored);
  return parsed.memoryCost < MEMORY_COST_KIB || parsed.timeCost < TIME_COST || parsed.algorithm !== ARGON2ID;
}

/** A stable hash of a fixed string, verified against for unknown accounts so timing does not tell them apart. */
let dummyHash: Promise<string> | undefined;
export function timingDummyHash(): Promise<string> {
  dummyHash ??= hashPassword("timing-equalizer-not-a-real-password");
  return dummyHash;
}

/** True when the password, or its base word without trailing digits and symbols, is a well-known password. */
export function isCommonPassword(password: string): boolean {
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return true;
  const base = lower.replace(/[^a-z]+$/, "").replace(/^[^a-z]+/, "");
  return base.length >= 5 && COMMON.has(base);
}

/**
 * Checks the password policy; returns the rules it breaks (empty when it passes). `email` lets the
 * policy refuse a password that contains the account's own address.
 */
export function passwordProblems(password: string, email?: string): string[] {
  const problems: string[] = [];
  if (password.length < MIN_PASSWORD_LENGTH) problems.push(`must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) problems.push(`must be at most ${MAX_PASSWORD_LENGTH} characters`);
  if (!/[A-Z]/.test(password)) problems.push("must contain an uppercase letter");
  if (!/[a-z]/.test(password)) problems.push("must contain a lowercase letter");
  if (!/[0-9]/.test(password)) problems.push("must contain a digit");
  if (![...password].some((c) => PASSWORD_SYMBOLS.includes(c))) problems.push(`must contain one of ${PASSWORD_SYMBOLS}`);
  if (isCommonPassword(password)) problems.push("is a commonly used password");
  const local = email?.split("@")[0]?.toLowerCase();
  if (local && local.length >= 4 && password.toLowerCase().includes(local)) problems.push("must not contain the account's email name");
  return problems;
}
