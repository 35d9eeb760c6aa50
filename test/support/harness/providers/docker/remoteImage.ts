/**
 * docker.RemoteImage without a registry: the image must already be on the local engine (the
 * provider would pull it; nothing is reachable from here).
 */
import type { Materializer } from "../../types";
import { docker, isNotFound } from "./engine";

const TYPE = "docker:index/remoteImage:RemoteImage";

/** Images the team shares on this engine; the harness never removes them. */
const SHARED_PREFIX = "krc-standin/";

export const remoteImage: Materializer = {
  type: TYPE,
  inputs: new Set(["name", "keepLocally", "forceRemove"]),
  // keepLocally and forceRemove only matter on delete: the provider updates them in place.
  updatable: new Set(["keepLocally", "forceRemove"]),
  async create(_ctx, inputs) {
    const name = inputs["name"] as string;
    let info: { Id: string; RepoDigests?: string[] };
    try {
      info = (await docker.getImage(name).inspect()) as { Id: string; RepoDigests?: string[] };
    } catch (e) {
      if (isNotFound(e)) {
        throw new Error(`harness: ${TYPE}: image "${name}" is not on the local engine and no registry is reachable to pull it (build the stand-ins: bash images/build.sh)`);
      }
      throw e;
    }
    const repoDigest = info.RepoDigests?.[0] ?? "";
    return { id: `${info.Id}${name}`, outputs: { ...inputs, imageId: info.Id, repoDigest } };
  },
  async update(_ctx, _id, _olds, news, oldOutputs) {
    return { ...oldOutputs, ...news };
  },
  async delete(ctx, _id, inputs, outputs) {
    const name = inputs["name"] as string;
    if (inputs["keepLocally"] === true) return;
    if (name.startsWith(SHARED_PREFIX)) {
      ctx.log(`keeping shared stand-in image ${name} (the provider would remove it: keepLocally is not set)`);
      return;
    }
    try {
      await docker.getImage(outputs["imageId"] as string).remove({ force: inputs["forceRemove"] === true });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  },
};
