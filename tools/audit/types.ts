import type { ContainerInspectInfo, ImageInspectInfo, NetworkInspectInfo } from "dockerode";
import type { ExceptionId } from "./exceptions";

/** Outcome of one check on one container. */
export type Status = "PASS" | "FAIL" | "EXCEPTION";

/** What one check concluded about one container. */
export interface Finding {
  readonly status: Status;
  /** What was seen; for EXCEPTION the exception's reason is printed next to it. */
  readonly detail: string;
  readonly exception?: ExceptionId;
}

/** What the engine supports, from `GET /info` SecurityOptions. */
export interface EngineSecurity {
  readonly apparmor: boolean;
  readonly selinux: boolean;
}

/** Everything the checks may look at for one container; gathered by the thin Docker layer. */
export interface AuditSubject {
  /** Container name without the leading slash. */
  readonly name: string;
  /** Value of the `krc.service` label, if any. */
  readonly service: string | undefined;
  /** Value of the `krc.role` label (`files-writer` for the never-started file carriers), if any. */
  readonly role?: string | undefined;
  readonly container: ContainerInspectInfo;
  /** Inspect of the image the container runs, undefined if it is gone. */
  readonly image: ImageInspectInfo | undefined;
  /** Image id that the container's image reference resolves to now, undefined if unresolvable. */
  readonly currentImageId: string | undefined;
  /** Inspect of every network the container is attached to, by network name. */
  readonly networks: Readonly<Record<string, NetworkInspectInfo>>;
  /**
   * Command lines of its processes (`docker top`), null when it is not running, or the reason
   * they could not be listed.
   */
  readonly processes: readonly string[] | null | { readonly error: string };
}

/** The whole stack as the checks see it. */
export interface AuditInput {
  readonly stack: string;
  readonly environment: "dev" | "prod";
  readonly engine: EngineSecurity;
  readonly subjects: readonly AuditSubject[];
}

/** A check with its CIS Docker Benchmark v1.6.0 id (or a `KRC-` id for krc's own rules). */
export interface Check {
  readonly id: string;
  readonly title: string;
  run(subject: AuditSubject, input: AuditInput): Finding;
}

/** One cell of the report. */
export interface Result extends Finding {
  readonly checkId: string;
  readonly container: string;
}
