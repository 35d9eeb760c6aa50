/**
 * The deployed stack the benchmarks measure, read from `.live/stack.json` (written by
 * `npm run live:up`), with a clear message when it is missing, malformed or not answering.
 */
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";

/** Default location of stack.json, relative to the repository root. */
export const STACK_JSON = ".live/stack.json";

const role = z.object({ user: z.string().min(1), password: z.string().min(1) });

const stackJsonSchema = z.object({
  stack: z.string().min(1),
  url: z.url(),
  caCert: z.string().min(1),
  adminEmail: z.string().min(1),
  adminPassword: z.string().min(1),
  containers: z.array(z.string().min(1)).min(1),
  postgres: z.object({
    host: z.string().min(1),
    port: z.number().int().positive(),
    database: z.string().min(1),
    caCert: z.string().min(1),
    roles: z.object({ app: role }).catchall(role),
  }),
});

/** What the benchmarks use from stack.json, plus derived values. */
export interface LiveStack {
  readonly stack: string;
  /** https base URL of the API host, e.g. https://krc.localhost:8443. */
  readonly url: URL;
  /** PEM of Caddy's root CA: the only CA the benchmarks trust. */
  readonly ca: string;
  readonly adminEmail: string;
  readonly adminPassword: string;
  readonly containers: readonly string[];
  readonly postgres: z.infer<typeof stackJsonSchema>["postgres"] & { readonly caPem: string };
  /** Container name ending in `-<service>` (api, proxy, db). */
  container(service: string): string;
}

/** Thrown when the stack is not up or stack.json is unusable; the message says what to do. */
export class StackNotUpError extends Error {
  override readonly name = "StackNotUpError";
}

/** Reads and validates stack.json; throws StackNotUpError naming the file and the problem. */
export function loadStack(path: string): LiveStack {
  if (!existsSync(path)) {
    throw new StackNotUpError(`${path} does not exist: the live stack is not up. Deploy it first with \`npm run live:up\` (stand-in images: \`bash images/build.sh\`).`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new StackNotUpError(`${path} is not valid JSON (${e instanceof Error ? e.message : String(e)}); redeploy with \`npm run live:up\`.`);
  }
  const parsed = stackJsonSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new StackNotUpError(`${path} lacks what the benchmarks need (${problems}); redeploy with \`npm run live:up\`.`);
  }
  const s = parsed.data;
  for (const file of [s.caCert, s.postgres.caCert]) {
    if (!existsSync(file)) throw new StackNotUpError(`${path} points to ${file}, which does not exist; redeploy with \`npm run live:up\`.`);
  }
  const url = new URL(s.url);
  if (url.protocol !== "https:") throw new StackNotUpError(`${path}: url must be https, got ${s.url}`);
  return {
    stack: s.stack,
    url,
    ca: readFileSync(s.caCert, "utf8"),
    adminEmail: s.adminEmail,
    adminPassword: s.adminPassword,
    containers: s.containers,
    postgres: { ...s.postgres, caPem: readFileSync(s.postgres.caCert, "utf8") },
    container(service: string): string {
      const name = s.containers.find((c) => c.endsWith(`-${service}`));
      if (name === undefined) throw new StackNotUpError(`${path}: no container named "*-${service}" among ${s.containers.join(", ")}`);
      return name;
    },
  };
}
