import type { Policies } from "@pulumi/policy";
import { caddyHsts } from "./rules/caddy";
import { containerIsolation, containerPorts, containerPrivileges, containerResources } from "./rules/containers";
import { corsOrigins } from "./rules/cors";
import { prodImagesPinned } from "./rules/images";
import { databaseInternalOnly } from "./rules/network";
import { noSecretInEnvs, noSecretSourceInEnvs } from "./rules/secrets";

/**
 * Every rule of the pack. Kept apart from index.ts because constructing a PolicyPack starts the
 * analyzer server (and exits outside the engine), so tests import this list instead.
 */
export const POLICIES: Policies = [
  containerPrivileges,
  containerIsolation,
  containerResources,
  containerPorts,
  noSecretInEnvs,
  noSecretSourceInEnvs,
  databaseInternalOnly,
  corsOrigins,
  prodImagesPinned,
  caddyHsts,
];
