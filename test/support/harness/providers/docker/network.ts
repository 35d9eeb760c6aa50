/** docker.Network on the local engine, as the docker provider creates it. */
import type { Materializer, Props } from "../../types";
import { autoName, checkFields, docker, isNotFound, labelMap } from "./engine";

const TYPE = "docker:index/network:Network";

/** Every input is ForceNew in the provider's schema: any change replaces the network. */
export const network: Materializer = {
  type: TYPE,
  inputs: new Set(["name", "driver", "internal", "attachable", "ipv6", "labels", "options", "ipamConfigs", "ipamDriver"]),
  updatable: new Set(),
  validate(inputs) {
    checkFields(TYPE, "labels", inputs["labels"], ["label", "value"]);
    checkFields(TYPE, "ipamConfigs", inputs["ipamConfigs"], ["subnet", "gateway", "ipRange", "auxAddress"]);
  },
  async create(ctx, inputs) {
    const name = (inputs["name"] as string | undefined) ?? autoName(ctx.name);
    const ipam = (inputs["ipamConfigs"] ?? []) as { subnet?: string; gateway?: string; ipRange?: string; auxAddress?: Record<string, string> }[];
    const created = await docker.createNetwork({
      Name: name,
      CheckDuplicate: true,
      Driver: (inputs["driver"] as string | undefined) ?? "bridge",
      Internal: inputs["internal"] === true,
      Attachable: inputs["attachable"] === true,
      EnableIPv6: inputs["ipv6"] === true,
      Labels: labelMap(inputs["labels"]),
      Options: (inputs["options"] ?? {}) as Record<string, string>,
      IPAM: {
        Driver: (inputs["ipamDriver"] as string | undefined) ?? "default",
        Config: ipam.map((c) => ({ Subnet: c.subnet, Gateway: c.gateway, IPRange: c.ipRange, AuxiliaryAddresses: c.auxAddress })),
      },
    });
    const info = (await created.inspect()) as { Id: string; Scope: string; Driver: string; Internal: boolean; IPAM: { Driver: string; Config: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null } };
    const outputs: Props = {
      ...inputs,
      name,
      driver: info.Driver,
      internal: info.Internal,
      scope: info.Scope,
      ipamDriver: info.IPAM.Driver,
      ipamConfigs: (info.IPAM.Config ?? []).map((c) => ({ subnet: c.Subnet ?? "", gateway: c.Gateway ?? "", ipRange: c.IPRange ?? "" })),
    };
    ctx.log(`network ${name} (${info.Id.slice(0, 12)})`);
    return { id: info.Id, outputs };
  },
  async delete(_ctx, id) {
    try {
      await docker.getNetwork(id).remove();
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  },
};
