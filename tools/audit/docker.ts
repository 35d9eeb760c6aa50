import type Docker from "dockerode";
import type { ContainerInspectInfo, NetworkInspectInfo } from "dockerode";
import { LABELS } from "../../policy/requirements";
import type { AuditSubject, EngineSecurity } from "./types";

function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { statusCode?: number }).statusCode === 404;
}

async function orUndefined<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Reads which security modules the engine can apply (`GET /info`). */
export async function engineSecurity(docker: Docker): Promise<EngineSecurity> {
  const info = (await docker.info()) as { SecurityOptions?: string[] };
  const names = (info.SecurityOptions ?? []).map((o) => /name=([^,]+)/.exec(o)?.[1] ?? o);
  return { apparmor: names.includes("apparmor"), selinux: names.includes("selinux") };
}

async function processesOf(docker: Docker, c: ContainerInspectInfo): Promise<AuditSubject["processes"]> {
  if (!c.State.Running) return null;
  try {
    const top = (await docker.getContainer(c.Id).top()) as { Titles: string[]; Processes: string[][] };
    const cmd = top.Titles.findIndex((t) => t === "CMD" || t === "COMMAND");
    return top.Processes.map((p) => (cmd === -1 ? p.join(" ") : p.slice(cmd).join(" ")));
  } catch (err) {
    // The engine runs `ps` on the host for this; without it the check fails rather than guesses.
    return { error: (err as Error).message };
  }
}

async function subjectOf(docker: Docker, id: string): Promise<AuditSubject> {
  const container = await docker.getContainer(id).inspect();
  const networks: Record<string, NetworkInspectInfo> = {};
  for (const [name, endpoint] of Object.entries(container.NetworkSettings.Networks ?? {})) {
    const net = await orUndefined(docker.getNetwork(endpoint.NetworkID || name).inspect() as Promise<NetworkInspectInfo>);
    if (net) networks[name] = net;
  }
  const image = await orUndefined(docker.getImage(container.Image).inspect());
  const current = await orUndefined(docker.getImage(container.Config.Image).inspect());
  return {
    name: container.Name.replace(/^\//, ""),
    service: container.Config.Labels?.[LABELS.service],
    role: container.Config.Labels?.[LABELS.role],
    container,
    image,
    currentImageId: current?.Id,
    networks,
    processes: await processesOf(docker, container),
  };
}

/** Inspects every container (running or not) labelled `krc.stack=<stack>`, sorted by name. */
export async function collectSubjects(docker: Docker, stack: string): Promise<AuditSubject[]> {
  const found = await docker.listContainers({ all: true, filters: { label: [`${LABELS.stack}=${stack}`] } });
  const subjects = await Promise.all(found.map((c) => subjectOf(docker, c.Id)));
  return subjects.sort((a, b) => a.name.localeCompare(b.name));
}
