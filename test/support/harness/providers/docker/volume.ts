/** docker.Volume on the local engine, as the docker provider creates it. */
import type { Materializer } from "../../types";
import { autoName, checkFields, docker, isNotFound, labelMap } from "./engine";

const TYPE = "docker:index/volume:Volume";

/** Every input is ForceNew in the provider's schema. The id is the volume's name. */
export const volume: Materializer = {
  type: TYPE,
  inputs: new Set(["name", "driver", "driverOpts", "labels"]),
  updatable: new Set(),
  validate(inputs) {
    checkFields(TYPE, "labels", inputs["labels"], ["label", "value"]);
  },
  async create(ctx, inputs) {
    const name = (inputs["name"] as string | undefined) ?? autoName(ctx.name);
    // Like the provider: creating a volume whose name exists returns the existing volume.
    await docker.createVolume({
      Name: name,
      Driver: (inputs["driver"] as string | undefined) ?? "local",
      DriverOpts: (inputs["driverOpts"] ?? {}) as Record<string, string>,
      Labels: labelMap(inputs["labels"]),
    });
    const v = (await docker.getVolume(name).inspect()) as { Name: string; Driver: string; Mountpoint: string };
    return { id: v.Name, outputs: { ...inputs, name: v.Name, driver: v.Driver, mountpoint: v.Mountpoint } };
  },
  async delete(_ctx, id) {
    try {
      await docker.getVolume(id).remove();
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  },
};
