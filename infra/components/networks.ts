import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { bridgeName, dockerLabels, namePrefix } from "../naming";

/** Docker network option that names the Linux bridge on the host. */
export const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";

/** Type token of {@link Networks}. */
export const NETWORKS_TYPE = "krc:network:Networks";

export interface NetworksArgs {
  readonly stack: string;
  /** Fixed IPv4 subnet (CIDR) of the internal network; Docker picks one when unset. */
  readonly internalSubnet?: string;
}

/** Addresses of a fixed internal subnet: the host's bridge (gateway) and the database. */
export function internalAddresses(subnet: string): { gateway: string; database: string } {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(subnet);
  if (!match) throw new Error(`internalAddresses: ${JSON.stringify(subnet)} is not an IPv4 CIDR`);
  const base = match.slice(1, 5).reduce((n, octet) => n * 256 + Number(octet), 0);
  const at = (offset: number): string =>
    [24, 16, 8, 0].map((shift) => Math.floor((base + offset) / 2 ** shift) % 256).join(".");
  return { gateway: at(1), database: at(10) };
}

/**
 * The stack's two bridge networks: `internal` (no egress; the database and the API's path to it)
 * and `external` (the proxy, and the API's way out, later to Zapier).
 */
export class Networks extends pulumi.ComponentResource {
  /** Name of the internal network (`krc-<stack>-internal`). */
  public readonly internalName: pulumi.Output<string>;
  /** Name of the external network (`krc-<stack>-external`). */
  public readonly externalName: pulumi.Output<string>;
  /** Linux bridge of the internal network on the host (the firewall's `-i`). */
  public readonly internalBridge: string;
  /** Linux bridge of the external network on the host. */
  public readonly externalBridge: string;
  /** Subnet Docker assigned to the internal network (CIDR), for pg_hba.conf. */
  public readonly internalSubnet: pulumi.Output<string>;
  /**
   * The Docker host's address on the internal network: where the host's own connections (the
   * Postgres provider's) come from.
   */
  public readonly internalGateway: pulumi.Output<string>;

  constructor(name: string, args: NetworksArgs, opts?: pulumi.ComponentResourceOptions) {
    super(NETWORKS_TYPE, name, {}, opts);
    const prefix = namePrefix(args.stack);
    this.internalBridge = bridgeName(args.stack, "internal");
    this.externalBridge = bridgeName(args.stack, "external");
    // Fixed names: a replacement must remove the old network before creating its successor.
    const childOpts = { parent: this, deleteBeforeReplace: true };

    // internal: Docker adds no gateway route and no masquerading, so nothing on it has egress.
    const fixed = args.internalSubnet === undefined ? undefined : internalAddresses(args.internalSubnet);
    const internal = new docker.Network(
      `${name}-internal`,
      {
        name: `${prefix}-internal`,
        driver: "bridge",
        internal: true,
        labels: dockerLabels(args.stack),
        // A stable interface name lets the host firewall drop new connections to the host itself.
        options: { [BRIDGE_NAME_OPTION]: this.internalBridge },
        // A fixed subnet gives the database a fixed address, the target of an operator's tunnel.
        ...(fixed === undefined ? {} : { ipamConfigs: [{ subnet: args.internalSubnet as string, gateway: fixed.gateway }] }),
      },
      childOpts,
    );
    const external = new docker.Network(
      `${name}-external`,
      {
        name: `${prefix}-external`,
        driver: "bridge",
        internal: false,
        labels: dockerLabels(args.stack),
        options: { [BRIDGE_NAME_OPTION]: this.externalBridge },
      },
      childOpts,
    );

    this.internalName = internal.name;
    this.externalName = external.name;
    const ipam = (field: "subnet" | "gateway") =>
      internal.ipamConfigs.apply((configs) => {
        const value = configs.find((c) => c[field] !== undefined && c[field] !== "" && !c[field].includes(":"))?.[field];
        if (value === undefined) throw new Error(`Networks ${name}: the internal network has no IPv4 ${field}`);
        return value;
      });
    this.internalSubnet = ipam("subnet");
    this.internalGateway = ipam("gateway");
    this.registerOutputs({
      internalName: this.internalName,
      externalName: this.externalName,
      internalBridge: this.internalBridge,
      externalBridge: this.externalBridge,
      internalSubnet: this.internalSubnet,
      internalGateway: this.internalGateway,
    });
  }
}
