import type { StackValidationPolicy } from "@pulumi/policy";
import { LABELS, profileOf } from "../requirements";
import { labelOf, ofType, TYPES, type ContainerProps } from "./common";

/** Network names a container joins (networksAdvanced plus networkMode when it names a network). */
function networksOf(props: ContainerProps): string[] {
  const names = (props.networksAdvanced ?? []).map((n) => n.name);
  const mode = props.networkMode;
  if (mode && !["bridge", "default", "host", "none"].includes(mode) && !mode.startsWith("container:")) names.push(mode);
  return [...new Set(names)];
}

/**
 * The database (and the migration job) join only internal networks of the stack; the proxy
 * shares no network with the database (guide: "Internal Network Isolation").
 */
export const databaseInternalOnly: StackValidationPolicy = {
  name: "krc-db-internal-only",
  description: "The database and migrations join only the stack's internal (no egress) networks; the proxy shares no network with the database; nothing joins Docker's default bridge.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const internal = new Map<string, boolean>();
    for (const net of ofType(args.resources, TYPES.network)) internal.set(String(net.props["name"]), net.props["internal"] === true);
    const containers = ofType(args.resources, TYPES.container);
    const dbNetworks = new Set(
      containers.filter((c) => labelOf(c.props as ContainerProps, LABELS.service) === "db").flatMap((c) => networksOf(c.props as ContainerProps)),
    );
    for (const c of containers) {
      const props = c.props as ContainerProps;
      const nets = networksOf(props);
      const isolated = props.networkMode === "none" && nets.length === 0;
      if ((nets.length === 0 && !isolated) || props.networkMode === "bridge" || props.networkMode === "default") {
        report(`${c.name} would join Docker's default bridge; name the stack's networks in networkMode and networksAdvanced`, c.urn);
      }
      const profile = profileOf(labelOf(props, LABELS.service));
      if (profile?.networks === "internal") {
        for (const n of nets.filter((n) => internal.get(n) !== true)) {
          report(`${c.name} joins ${n}, which is not an internal network of this stack`, c.urn);
        }
      }
      if (profile?.networks === "external") {
        for (const n of nets.filter((n) => dbNetworks.has(n))) report(`${c.name} shares network ${n} with the database`, c.urn);
      }
    }
  },
};
