import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { ContainerProps } from "../../policy/rules/common";

/**
 * Fabricated policy-engine arguments, shaped as @pulumi/policy's analyzer server builds them
 * (plain deserialized props, URN, config getter), so rules are tested without the Pulumi CLI.
 */
const OPTS = { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] };

export function urn(type: string, name: string, stack = "dev"): string {
  return `urn:pulumi:${stack}::krc::${type}::${name}`;
}

class NotApplicable extends Error {}

/** Runs a resource policy's validations; returns the reported messages. */
export async function validateResource(
  policy: ResourceValidationPolicy,
  type: string,
  props: Record<string, unknown>,
  options: { stack?: string; config?: object } = {},
): Promise<string[]> {
  const messages: string[] = [];
  const args: ResourceValidationArgs = {
    type,
    props,
    urn: urn(type, "subject", options.stack),
    name: "subject",
    opts: OPTS,
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => (options.config ?? {}) as T,
    notApplicable: (reason?: string) => {
      throw new NotApplicable(reason);
    },
  };
  const validations = [policy.validateResource ?? []].flat();
  for (const validate of validations) await validate(args, (message) => void messages.push(message));
  return messages;
}

/** A stack resource as validateStack sees it. */
export function resource(type: string, name: string, props: Record<string, unknown>, deps: Record<string, PolicyResource[]> = {}, stack = "dev"): PolicyResource {
  return {
    type,
    name,
    props,
    urn: urn(type, name, stack),
    opts: OPTS,
    dependencies: Object.values(deps).flat(),
    propertyDependencies: deps,
    isType: () => false,
    asType: () => undefined,
  };
}

/** Runs a stack policy; returns the reported messages. */
export async function validateStack(policy: StackValidationPolicy, resources: PolicyResource[], config: object = {}): Promise<string[]> {
  const messages: string[] = [];
  const args: StackValidationArgs = {
    resources,
    stackTags: new Map(),
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason?: string) => {
      throw new NotApplicable(reason);
    },
  };
  await policy.validateStack(args, (message) => void messages.push(message));
  return messages;
}

function labels(service: string) {
  return [
    { label: "krc.project", value: "krc" },
    { label: "krc.service", value: service },
    { label: "krc.stack", value: "dev" },
  ];
}

/** Container inputs as infra/baseline.ts produces them for a long-running service. */
export function containerProps(service = "api", edit?: (p: ContainerProps) => void): Record<string, unknown> {
  const props: ContainerProps = {
    name: `krc-dev-${service}`,
    image: `sha256:${"a".repeat(64)}`,
    user: service === "proxy" ? "0:0" : "1000:1000",
    readOnly: true,
    privileged: false,
    securityOpts: ["no-new-privileges:true"],
    capabilities: { drops: ["ALL"], adds: service === "proxy" ? ["NET_BIND_SERVICE"] : [] },
    memory: 256,
    cpuShares: 512,
    restart: service === "migrate" ? "no" : "unless-stopped",
    logDriver: "json-file",
    logOpts: { "max-size": "10m", "max-file": "3" },
    labels: labels(service),
    tmpfs: { "/tmp": "rw,noexec,nosuid,nodev,size=64m" },
    healthcheck: service === "migrate" ? undefined : { tests: ["CMD", "probe"], interval: "10s" },
    envs: ["PORT=8080", "DATABASE_PASSWORD_FILE=/run/secrets/db_app_password"],
    networkMode: `krc-dev-${service === "db" || service === "migrate" ? "internal" : "external"}`,
    networksAdvanced: [{ name: `krc-dev-${service === "db" || service === "migrate" ? "internal" : "external"}` }],
    mounts: [{ type: "volume", source: `krc-dev-${service}-secrets`, target: "/run/secrets" }],
  };
  edit?.(props);
  return props as Record<string, unknown>;
}
