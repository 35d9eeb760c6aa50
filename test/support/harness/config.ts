/**
 * Builds the configuration the Pulumi CLI would hand the program: the project's declared defaults
 * from Pulumi.yaml, then the stack file, then `--set` overrides. The CLI applies project defaults
 * itself (the SDK never reads Pulumi.yaml), so the harness must, with the CLI's type checks.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";

/** What the program will see: PULUMI_CONFIG's map and PULUMI_CONFIG_SECRET_KEYS' list. */
export interface ProgramConfig {
  readonly project: string;
  /** Program directory relative to the project directory (Pulumi.yaml `main`). */
  readonly main: string;
  readonly values: Record<string, string>;
  readonly secretKeys: readonly string[];
}

/** One `--set` or `--secret` override from the command line. */
export interface Override {
  readonly key: string;
  readonly value: string;
  readonly secret: boolean;
}

type Declared = { type?: string; default?: unknown; secret?: boolean };

const TYPES = new Set(["string", "integer", "boolean", "array", "object"]);

/** Qualifies a key the way the CLI does: a bare key belongs to the project's namespace. */
export function qualifyKey(project: string, key: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

/** Renders a YAML value the way the CLI passes it to the program: strings as-is, the rest JSON. */
export function renderValue(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function checkType(where: string, key: string, type: string | undefined, v: unknown): void {
  if (type === undefined) return;
  const ok =
    (type === "string" && typeof v === "string") ||
    (type === "integer" && (Number.isInteger(v) || (typeof v === "string" && /^-?\d+$/.test(v)))) ||
    (type === "boolean" && (typeof v === "boolean" || v === "true" || v === "false")) ||
    (type === "array" && Array.isArray(v)) ||
    (type === "object" && typeof v === "object" && v !== null && !Array.isArray(v));
  if (!ok) throw new Error(`${where}: configuration key '${key}' must be of type '${type}', got ${JSON.stringify(v)}`);
}

/**
 * Reads Pulumi.yaml and the stack file and applies overrides. Fails on an encrypted (`secure:`)
 * value, which needs the Pulumi CLI's secrets provider: pass it with `--secret key=value` instead.
 */
export function loadProgramConfig(projectFile: string, stackFile: string | undefined, overrides: readonly Override[]): ProgramConfig {
  const project = parse(readFileSync(projectFile, "utf8")) as { name?: string; main?: string; config?: Record<string, unknown> };
  if (typeof project?.name !== "string") throw new Error(`${projectFile}: no project name`);
  const name = project.name;
  const values: Record<string, string> = {};
  const secretKeys = new Set<string>();
  const declared = new Map<string, Declared>();

  for (const [rawKey, spec] of Object.entries(project.config ?? {})) {
    const key = qualifyKey(name, rawKey);
    // A non-object entry is the shorthand `key: value` for a default.
    const d: Declared = typeof spec === "object" && spec !== null && !Array.isArray(spec) ? (spec as Declared) : { default: spec };
    if (d.type !== undefined && !TYPES.has(d.type)) throw new Error(`${projectFile}: configuration key '${key}' has unknown type '${d.type}'`);
    declared.set(key, d);
    if (d.default !== undefined) {
      checkType(projectFile, key, d.type, d.default);
      values[key] = renderValue(d.default);
    }
  }

  if (stackFile !== undefined) {
    const stack = parse(readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> } | null;
    for (const [rawKey, v] of Object.entries(stack?.config ?? {})) {
      const key = qualifyKey(name, rawKey);
      if (typeof v === "object" && v !== null && "secure" in v) {
        throw new Error(`${stackFile}: '${key}' is encrypted for the Pulumi CLI; the harness cannot decrypt it (pass --secret ${key}=<value>)`);
      }
      checkType(stackFile, key, declared.get(key)?.type, v);
      values[key] = renderValue(v);
    }
  }

  for (const o of overrides) {
    const key = qualifyKey(name, o.key);
    const type = declared.get(key)?.type;
    // Command-line values are strings; arrays and objects must be JSON, as `pulumi config set --path` would produce.
    const parsed = type === "array" || type === "object" ? safeJson(o.value) : o.value;
    checkType("--set", key, type, parsed);
    values[key] = o.value;
    if (o.secret) secretKeys.add(key);
  }
  for (const [key, d] of declared) if (d.secret === true && key in values) secretKeys.add(key);

  return { project: name, main: typeof project.main === "string" ? project.main : ".", values, secretKeys: [...secretKeys] };
}

/**
 * The config of a stack the harness is about to deploy: {@link loadProgramConfig}, refusing the
 * provider config it cannot honour. Evaluating a program under in-memory mocks (the benchmarks)
 * touches no engine and loads the plain config instead.
 */
export function loadDeployableConfig(projectFile: string, stackFile: string | undefined, overrides: readonly Override[]): ProgramConfig {
  const config = loadProgramConfig(projectFile, stackFile, overrides);
  refuseUnimplementedProviderConfig(config.values);
  return config;
}

/** The only Docker engine the harness drives; also the docker provider's default `host`. */
export const LOCAL_DOCKER_HOST = "unix:///var/run/docker.sock";

/**
 * The default docker provider reads `docker:*` stack config (the engine to deploy to, its TLS
 * material, SSH options, registry credentials). The harness implements none of it but a `host`
 * that names the local engine, so any other key would be silently ignored and the stack deployed
 * on this machine instead: refuse it before any resource is created. The value is not quoted
 * (it may hold credentials).
 */
export function refuseUnimplementedProviderConfig(values: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(values)) {
    if (!key.startsWith("docker:")) continue;
    if (key === "docker:host" && value === LOCAL_DOCKER_HOST) continue;
    const why = key === "docker:host" ? `the harness deploys only to the local engine (${LOCAL_DOCKER_HOST})` : "the harness does not implement this docker provider setting";
    throw new Error(`harness: configuration key '${key}' is not implemented: ${why}; the only docker provider config allowed is docker:host=${LOCAL_DOCKER_HOST}`);
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}
