/**
 * The hardened container baseline: one pure function every container of the stack is built from,
 * so a measure is added or changed in one place (docs/architecture.md, "Containers").
 */
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { dockerLabels, LABEL_FILES_REVISION, type Service } from "./naming";

/** A capability added back after dropping ALL; `why` documents the need at the call site. */
export interface CapabilityGrant {
  readonly name: string;
  readonly why: string;
}

/** A writable tmpfs mount; everything else of the root filesystem is read-only. */
export interface TmpfsMount {
  readonly sizeMb: number;
  /** Owner of the mount point, for a non-root process that must write there. */
  readonly uid?: number;
  readonly gid?: number;
}

/** An exec-form health probe, run inside the container. */
export interface HealthProbe {
  readonly command: readonly string[];
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly retries: number;
  readonly startPeriodSeconds: number;
}

/**
 * How the container lives: a long-running service (healthchecked, restarted, deployment waits
 * until healthy) or a one-shot job (deployment waits for it to exit; it is never restarted).
 */
export type Lifecycle =
  | { readonly kind: "service"; readonly health: HealthProbe; readonly waitTimeoutSeconds: number }
  | { readonly kind: "oneShot" };

export interface BaselineInput {
  readonly stack: string;
  readonly service: Service;
  /** Fixed container name (`krc-<stack>-<service>`). */
  readonly name: string;
  readonly image: pulumi.Input<string>;
  /** Numeric `uid:gid`, so the identity does not depend on the image's passwd file. */
  readonly user: string;
  readonly memoryMb: number;
  readonly cpuShares: number;
  readonly lifecycle: Lifecycle;
  readonly capAdd?: readonly CapabilityGrant[];
  readonly tmpfs?: Readonly<Record<string, TmpfsMount>>;
  /** Seconds the process gets to shut down cleanly before the container is removed. */
  readonly stopGraceSeconds?: number;
  /** Revision of the files the container reads (FileVolume.revision): a new one replaces it. */
  readonly filesRevision?: pulumi.Input<string>;
}

/** The fields of `docker.ContainerArgs` the baseline owns; components add networks, env, mounts. */
export type BaselineArgs = Required<
  Pick<
    docker.ContainerArgs,
    | "name"
    | "image"
    | "user"
    | "readOnly"
    | "privileged"
    | "securityOpts"
    | "capabilities"
    | "memory"
    | "cpuShares"
    | "restart"
    | "logDriver"
    | "logOpts"
    | "labels"
    | "tmpfs"
    | "destroyGraceSeconds"
  >
> &
  Pick<docker.ContainerArgs, "healthcheck" | "wait" | "waitTimeout" | "attach" | "logs" | "mustRun">;

/** Log rotation: json-file keeps at most 3 files of 10 MB per container. */
export const LOG_OPTS = Object.freeze({ "max-size": "10m", "max-file": "3" });

const TMPFS_FLAGS = "rw,noexec,nosuid,nodev";

/** Returns the hardened container arguments for one container. Pure. */
export function hardenedContainer(input: BaselineInput): BaselineArgs {
  if (!/^\d+:\d+$/.test(input.user)) {
    throw new Error(`container ${input.name}: user must be numeric uid:gid, got "${input.user}"`);
  }
  const tmpfs: Record<string, string> = {};
  for (const [path, mount] of Object.entries(input.tmpfs ?? {})) {
    const owner = [mount.uid === undefined ? [] : [`uid=${mount.uid}`], mount.gid === undefined ? [] : [`gid=${mount.gid}`]].flat();
    tmpfs[path] = [TMPFS_FLAGS, `size=${mount.sizeMb}m`, ...owner].join(",");
  }
  const base: BaselineArgs = {
    name: input.name,
    image: input.image,
    user: input.user,
    readOnly: true,
    privileged: false,
    securityOpts: ["no-new-privileges:true"],
    capabilities: { drops: ["ALL"], adds: (input.capAdd ?? []).map((grant) => grant.name) },
    memory: input.memoryMb,
    cpuShares: input.cpuShares,
    restart: input.lifecycle.kind === "service" ? "unless-stopped" : "no",
    logDriver: "json-file",
    logOpts: { ...LOG_OPTS },
    labels: [
      ...dockerLabels(input.stack, input.service),
      ...(input.filesRevision === undefined ? [] : [{ label: LABEL_FILES_REVISION, value: input.filesRevision }]),
    ],
    tmpfs,
    destroyGraceSeconds: input.stopGraceSeconds ?? 10,
  };
  if (input.lifecycle.kind === "oneShot") {
    // attach: the deployment waits for the exit code; mustRun false: an exited job is its
    // success state, not drift to "fix" by starting it again.
    return { ...base, attach: true, logs: true, mustRun: false };
  }
  const { health, waitTimeoutSeconds } = input.lifecycle;
  return {
    ...base,
    healthcheck: {
      tests: ["CMD", ...health.command],
      interval: `${health.intervalSeconds}s`,
      timeout: `${health.timeoutSeconds}s`,
      retries: health.retries,
      startPeriod: `${health.startPeriodSeconds}s`,
    },
    // Dependants are created only once this container reports healthy.
    wait: true,
    waitTimeout: waitTimeoutSeconds,
  };
}
