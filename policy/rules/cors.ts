import type { ResourceValidationPolicy } from "@pulumi/policy";
import { ENVIRONMENT_SCHEMA, isProd, TYPES, type ContainerProps, type EnvironmentConfig } from "./common";

/** Why an origin is not allowed, or undefined. */
export function corsOriginProblem(origin: string, prod: boolean): string | undefined {
  if (origin.includes("*")) return "is a wildcard";
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return "is not an origin (scheme://host[:port])";
  }
  if (url.origin !== origin) return `is not an exact origin (expected ${url.origin})`;
  if (prod && url.protocol !== "https:") return "is not https";
  return undefined;
}

/** CORS origins the API container is given (guide §5: never a wildcard; https in prod). */
export const corsOrigins: ResourceValidationPolicy = {
  name: "krc-cors-origins",
  description: "The API's CORS_ORIGINS lists exact origins, never a wildcard, and only https origins in prod.",
  enforcementLevel: "mandatory",
  configSchema: ENVIRONMENT_SCHEMA,
  validateResource: (args, report) => {
    if (args.type !== TYPES.container) return;
    const prod = isProd(args.urn, args.getConfig<EnvironmentConfig>());
    for (const env of (args.props as ContainerProps).envs ?? []) {
      if (!env.startsWith("CORS_ORIGINS=")) continue;
      const origins = env.slice("CORS_ORIGINS=".length).split(",").map((o) => o.trim()).filter(Boolean);
      if (prod && origins.length === 0) report("CORS_ORIGINS is empty in prod; list the https origins of the two hosts");
      for (const origin of origins) {
        const problem = corsOriginProblem(origin, prod);
        if (problem) report(`CORS_ORIGINS: ${JSON.stringify(origin)} ${problem}${prod ? " (prod)" : ""}`);
      }
    }
  },
};
