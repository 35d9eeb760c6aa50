/**
 * @pulumi/random resources, generated here with Node's CSPRNG the way the random provider does.
 * Every input is ForceNew in the provider (keepers included): any change generates a new value.
 */
import { randomBytes as cryptoBytes, randomInt } from "node:crypto";
import type { Materializer, Props } from "../types";

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMERIC = "0123456789";
const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

function positiveInt(type: string, field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Error(`harness: ${type} input "${field}" must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** random.RandomBytes: `length` random bytes, returned as base64 and hex (secret outputs). */
export const randomBytes: Materializer = {
  type: "random:index/randomBytes:RandomBytes",
  inputs: new Set(["length", "keepers"]),
  updatable: new Set(),
  validate(inputs) {
    positiveInt(this.type, "length", inputs["length"]);
  },
  async create(_ctx, inputs) {
    const bytes = cryptoBytes(inputs["length"] as number);
    return { id: "none", outputs: { ...inputs, base64: bytes.toString("base64"), hex: bytes.toString("hex") } };
  },
  async delete() {
    // Nothing exists outside the state.
  },
};

/** Draws `n` characters of `chars` uniformly. */
function draw(chars: string, n: number): string[] {
  return Array.from({ length: n }, () => chars[randomInt(chars.length)] as string);
}

/** Generates a password like the provider's: minimums first, then any allowed character, shuffled. */
export function generatePassword(inputs: Props): string {
  const length = inputs["length"] as number;
  const on = (k: string): boolean => inputs[k] !== false;
  const special = (inputs["overrideSpecial"] as string | undefined) ?? DEFAULT_SPECIAL;
  const sets: [boolean, string, number][] = [
    [on("lower"), LOWER, (inputs["minLower"] as number | undefined) ?? 0],
    [on("upper"), UPPER, (inputs["minUpper"] as number | undefined) ?? 0],
    [on("numeric") && on("number"), NUMERIC, (inputs["minNumeric"] as number | undefined) ?? 0],
    [on("special"), special, (inputs["minSpecial"] as number | undefined) ?? 0],
  ];
  const chars: string[] = [];
  let all = "";
  for (const [enabled, set, min] of sets) {
    if (!enabled) continue;
    all += set;
    chars.push(...draw(set, min));
  }
  if (all === "") throw new Error("harness: random.RandomPassword: every character class is disabled");
  if (chars.length > length) throw new Error(`harness: random.RandomPassword: the minimums (${chars.length}) exceed length ${length}`);
  chars.push(...draw(all, length - chars.length));
  for (let i = chars.length - 1; i > 0; i -= 1) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join("");
}

/**
 * random.RandomPassword. Outputs `result`; the provider's `bcryptHash` output is not produced (no
 * bcrypt implementation here), so a program reading it would see undefined.
 */
export const randomPassword: Materializer = {
  type: "random:index/randomPassword:RandomPassword",
  inputs: new Set(["length", "keepers", "lower", "upper", "numeric", "number", "special", "minLower", "minUpper", "minNumeric", "minSpecial", "overrideSpecial"]),
  updatable: new Set(),
  validate(inputs) {
    positiveInt(this.type, "length", inputs["length"]);
  },
  async create(_ctx, inputs) {
    return { id: "none", outputs: { ...inputs, result: generatePassword(inputs) } };
  },
  async delete() {
    // Nothing exists outside the state.
  },
};
