/**
 * Section 5, footprint: idle memory of each running container of the stack and of the whole stack
 * (`docker stats`, each against its memory limit), the API image's size, and the size of the
 * layers the app adds to its base image (`docker history`), against the base image's size.
 */
import { docker } from "../lib/proc";
import { inspect, type ContainerInfo } from "../lib/dockerObjects";
import { mib, parseDockerSize, type Figure } from "../lib/stats";

interface ImageInfo {
  readonly Id: string;
  readonly Size: number;
  readonly RepoTags: string[] | null;
  readonly RootFS: { readonly Layers?: string[] };
}

/** `docker stats` memory of running containers: name → used and limit, in bytes. */
export async function idleMemory(containers: readonly string[]): Promise<Map<string, { used: number; limit: number }>> {
  const running: string[] = [];
  for (const name of containers) {
    const info = await inspect<ContainerInfo>(name).catch(() => undefined);
    if (info?.State.Status === "running") running.push(name);
  }
  const out = await docker(["stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}", ...running], { timeoutMs: 30_000 });
  const result = new Map<string, { used: number; limit: number }>();
  for (const line of out.stdout.trim().split("\n")) {
    const [name, usage] = line.split("\t");
    const [used, limit] = (usage ?? "").split("/").map((s) => parseDockerSize(s));
    if (name && used !== undefined && limit !== undefined) result.set(name, { used, limit });
  }
  return result;
}

/** The local image whose layers are the longest proper prefix of `image`'s: the image it was built FROM. */
export function findBase(image: ImageInfo, candidates: readonly ImageInfo[]): ImageInfo | undefined {
  const layers = image.RootFS.Layers ?? [];
  let best: ImageInfo | undefined;
  for (const c of candidates) {
    const own = c.RootFS.Layers ?? [];
    if (c.Id === image.Id || own.length === 0 || own.length >= layers.length) continue;
    if (own.every((l, i) => layers[i] === l) && own.length > (best?.RootFS.Layers?.length ?? 0)) best = c;
  }
  return best;
}

/** Runs the section for the stack's containers; `api` is the API container's name. */
export async function benchFootprint(containers: readonly string[], api: string): Promise<Figure[]> {
  const figures: Figure[] = [];
  const memory = await idleMemory(containers);
  let used = 0;
  let limit = 0;
  for (const [name, m] of memory) {
    used += m.used;
    limit += m.limit;
    figures.push({ section: "footprint", name: `idle memory ${name}`, value: mib(m.used), unit: "MiB", baseline: { name: "its memory limit", value: mib(m.limit) } });
  }
  const stopped = containers.filter((c) => !memory.has(c));
  figures.push({ section: "footprint", name: "idle memory, whole stack", value: mib(used), unit: "MiB", baseline: { name: "sum of the limits", value: mib(limit) }, note: `${memory.size} running containers${stopped.length ? `; not running (one-shot): ${stopped.join(", ")}` : ""}` });

  const apiImage = await inspect<ImageInfo>((await inspect<ContainerInfo>(api)).Image, "image");
  const ids = (await docker(["image", "ls", "-q", "--no-trunc"])).stdout.split("\n").filter(Boolean);
  const candidates: ImageInfo[] = [];
  for (const id of new Set(ids)) candidates.push(await inspect<ImageInfo>(id, "image"));
  const base = findBase(apiImage, candidates);
  if (!base) throw new Error(`no local image is the base of the API image ${apiImage.Id}`);
  const history = async (id: string): Promise<number[]> =>
    (await docker(["history", "--no-trunc", "--human=false", "--format", "{{.Size}}", id])).stdout.trim().split("\n").map(Number);
  const apiHistory = await history(apiImage.Id);
  const baseHistory = await history(base.Id);
  // docker history lists newest first: the API image's extra entries are its own Dockerfile's steps.
  const added = apiHistory.slice(0, apiHistory.length - baseHistory.length).reduce((a, b) => a + b, 0);
  const baseName = base.RepoTags?.[0] ?? base.Id.slice(0, 19);
  figures.push(
    { section: "footprint", name: `API image size (${apiImage.RepoTags?.[0] ?? apiImage.Id.slice(0, 19)})`, value: mib(apiImage.Size), unit: "MiB", baseline: { name: `base image ${baseName}`, value: mib(base.Size) } },
    { section: "footprint", name: "layers the app adds to its base image", value: mib(added), unit: "MiB", baseline: { name: `base image ${baseName}`, value: mib(base.Size) }, note: `${apiHistory.length - baseHistory.length} history entries above the base` },
  );
  return figures;
}
