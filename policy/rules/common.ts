import type * as docker from "@pulumi/docker";
import type { Unwrap } from "@pulumi/pulumi";
import type { PolicyResource } from "@pulumi/policy";
import { LABELS, profileOf, ROLE_FILES_WRITER, type ServiceProfile } from "../requirements";

/** Pulumi type tokens the rules look at. */
export const TYPES = Object.freeze({
  container: "docker:index/container:Container",
  network: "docker:index/network:Network",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  image: "docker:index/image:Image",
});

/** A Container's inputs as the policy engine hands them over (plain values, secrets unwrapped). */
export type ContainerProps = Partial<Unwrap<docker.ContainerArgs>>;

/** Value of a label in the docker provider's `[{ label, value }]` list. */
export function labelOf(props: ContainerProps, key: string): string | undefined {
  return (props.labels ?? []).find((l) => l.label === key)?.value;
}

/** The container's `krc.service` label, or undefined. */
export function serviceOf(props: ContainerProps): string | undefined {
  return labelOf(props, LABELS.service);
}

/** True for a never-started container that only receives a service's files (see requirements). */
export function isFilesWriter(props: ContainerProps): boolean {
  return labelOf(props, LABELS.role) === ROLE_FILES_WRITER;
}

/**
 * The container's service profile; reports a violation and returns undefined when the label is
 * missing or unknown, because then no allowance can be looked up.
 */
export function profileFor(props: ContainerProps, report: (message: string) => void): ServiceProfile | undefined {
  const service = serviceOf(props);
  const profile = profileOf(service);
  if (!profile) report(`container carries no known ${LABELS.service} label (got ${JSON.stringify(service ?? "")}); allowed: db, migrate, api, proxy`);
  return profile;
}

/** Policy configuration shared by the environment-dependent rules. */
export interface EnvironmentConfig {
  /** `dev` or `prod`; empty derives it from the stack name. */
  readonly environment?: string;
}

/** Config schema for the environment-dependent rules. */
export const ENVIRONMENT_SCHEMA = {
  properties: {
    environment: { type: "string" as const, enum: ["", "dev", "prod"], default: "" },
  },
};

/**
 * Whether the strict production rules apply: the policy config's `environment` when set,
 * otherwise a stack named `prod` (the stack is the 3rd field of the URN).
 */
export function isProd(urn: string, config: EnvironmentConfig): boolean {
  if (config.environment) return config.environment === "prod";
  return urn.split("::")[0]?.split(":")[2] === "prod";
}

/** Stack resources of one type. */
export function ofType(resources: readonly PolicyResource[], type: string): PolicyResource[] {
  return resources.filter((r) => r.type === type);
}
