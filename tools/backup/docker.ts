/**
 * The Docker side of backup and restore: what the stack's database container runs (its exact
 * image and its internal network), and the hardened flags of the throwaway containers this tool
 * starts, which carry the stack's labels so the stack's cleanup by label finds them.
 */
import { mustRun } from "./proc";

/** The database container's image (by id, the exact build) and the one network it is on. */
export interface DatabaseContainer {
  readonly image: string;
  readonly network: string;
}

/** Inspects `container`; throws when it is missing or not on exactly one network. */
export async function inspectDatabase(container: string): Promise<DatabaseContainer> {
  const out = await mustRun(`docker inspect ${container}`, "docker", ["inspect", "--type", "container", "--format", "{{json .Image}} {{json .NetworkSettings.Networks}}", container]);
  const space = out.indexOf(" ");
  const image = JSON.parse(out.slice(0, space)) as string;
  const networks = Object.keys(JSON.parse(out.slice(space + 1)) as Record<string, unknown>);
  if (networks.length !== 1) throw new Error(`${container} must be on exactly one network (its internal one), found: ${networks.join(", ") || "none"}`);
  return { image, network: networks[0] as string };
}

/** The uid and gid the postgres images run as (docs/architecture.md, Containers). */
export const POSTGRES_UID = 999;

/**
 * Flags shared by every container this tool starts: the stack's baseline (read-only root, no
 * capabilities, no privilege gain, the postgres user) and its labels.
 */
export function hardenedRunFlags(stack: string, service: "backup" | "restore"): string[] {
  return [
    // pg_dump streams; a restore server needs room for its buffers and sorts (index builds).
    "--memory",
    service === "backup" ? "512m" : "1g",
    "--cpu-shares",
    "512",
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges:true",
    "--user",
    `${POSTGRES_UID}:${POSTGRES_UID}`,
    "--pids-limit",
    "128",
    "--label",
    "krc.project=krc",
    "--label",
    `krc.stack=${stack}`,
    "--label",
    `krc.service=${service}`,
  ];
}
