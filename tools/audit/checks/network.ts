import { LABELS, profileOf, ROLE_FILES_WRITER } from "../../../policy/requirements";
import type { NetworkInspectInfo } from "dockerode";
import type { AuditInput, AuditSubject, Check } from "../types";
import { excepted, fail, pass } from "./util";

interface Binding {
  readonly port: string;
  readonly hostIp: string;
  readonly hostPort: number;
}

// HostConfig.PortBindings is what was asked for, so it also covers a stopped container.
function bindingsOf(s: AuditSubject): Binding[] {
  const declared = (s.container.HostConfig.PortBindings ?? {}) as Record<string, { HostIp?: string; HostPort?: string }[] | null>;
  return Object.entries(declared).flatMap(([port, list]) =>
    (list ?? []).map((b) => ({ port, hostIp: b.HostIp ?? "", hostPort: Number(b.HostPort ?? 0) })),
  );
}

function networkIds(s: AuditSubject): Set<string> {
  return new Set(Object.values(s.networks).map((n) => n.Id));
}

function checkRoleNetworks(s: AuditSubject, input: AuditInput) {
  const profile = profileOf(s.service);
  if (!profile) return fail(`unknown service label ${JSON.stringify(s.service ?? "")}`);
  const nets = Object.values(s.networks);
  if (s.role === ROLE_FILES_WRITER) {
    const mode = s.container.HostConfig.NetworkMode ?? "";
    return mode === "none" && nets.every((n) => n.Name === "none")
      ? pass("files writer: no network")
      : fail(`a files writer must have no network (mode ${mode}, networks ${nets.map((n) => n.Name).join(", ") || "none"})`);
  }
  const internal = nets.filter((n) => n.Internal).map((n) => n.Name);
  const external = nets.filter((n) => !n.Internal).map((n) => n.Name);
  const seen = `internal: ${internal.join(", ") || "none"}; with egress: ${external.join(", ") || "none"}`;
  if (profile.networks === "internal") {
    return internal.length > 0 && external.length === 0 ? pass(seen) : fail(`must be on internal networks only (${seen})`);
  }
  if (profile.networks === "both") {
    return internal.length > 0 && external.length > 0 ? pass(seen) : fail(`must be on an internal and an external network (${seen})`);
  }
  const dbNets = new Set(input.subjects.filter((o) => o.service === "db").flatMap((o) => [...networkIds(o)]));
  const shared = nets.filter((n) => dbNets.has(n.Id)).map((n) => n.Name);
  if (shared.length > 0) return fail(`shares ${shared.join(", ")} with the database`);
  return internal.length === 0 ? pass(`${seen}; no network shared with the database`) : fail(`must not be on internal networks (${seen})`);
}

/** A container attached to one of the stack's networks that is not one of the stack's containers. */
export interface ForeignAttachment {
  readonly network: string;
  readonly container: string;
}

/**
 * Containers attached to the stack's own networks (labelled `krc.stack=<stack>`) that are not among
 * `members` (the ids of the stack's containers), read from the networks' inspect JSON (`Containers`,
 * keyed by container id). A foreign container there reaches the database and the API directly.
 */
export function foreignAttachments(networks: readonly NetworkInspectInfo[], stack: string, members: ReadonlySet<string>): ForeignAttachment[] {
  return networks
    .filter((n) => n.Labels?.[LABELS.stack] === stack)
    .flatMap((n) =>
      Object.entries(n.Containers ?? {})
        .filter(([id]) => !members.has(id))
        .map(([id, c]) => ({ network: n.Name, container: c.Name !== undefined && c.Name !== "" ? c.Name : id.slice(0, 12) })),
    )
    .sort((a, b) => a.network.localeCompare(b.network) || a.container.localeCompare(b.container));
}

/** Published ports and network placement (CIS 5.8, 5.9, 5.14 and krc's network rules). */
export const NETWORK_CHECKS: readonly Check[] = [
  {
    id: "5.8",
    title: "Ensure privileged ports are not mapped within containers",
    run(s) {
      const low = bindingsOf(s).filter((b) => b.hostPort > 0 && b.hostPort < 1024);
      if (low.length === 0) return pass("no host port below 1024");
      return excepted("proxy-privileged-ports", s, `host ports ${low.map((b) => b.hostPort).join(", ")}`);
    },
  },
  {
    id: "5.9",
    title: "Ensure that only needed ports are open on the container",
    run(s) {
      if (s.container.HostConfig.PublishAllPorts) return fail("publishes all exposed ports");
      const published = [...new Set(bindingsOf(s).map((b) => b.port))];
      const allowed = profileOf(s.service)?.publishes ?? [];
      const extra = published.filter((p) => !allowed.includes(p));
      if (extra.length > 0) return fail(`publishes ${extra.join(", ")} (allowed for ${s.service ?? "?"}: ${allowed.join(", ") || "none"})`);
      return pass(published.length > 0 ? `publishes ${published.join(", ")}` : "publishes no port");
    },
  },
  {
    id: "5.14",
    title: "Ensure that incoming container traffic is bound to a specific host interface",
    run(s) {
      const bindings = bindingsOf(s);
      const wildcard = bindings.filter((b) => b.hostIp === "" || b.hostIp === "0.0.0.0" || b.hostIp === "::");
      if (wildcard.length > 0) return fail(`${wildcard.map((b) => b.port).join(", ")} bound to all interfaces`);
      return pass(bindings.length > 0 ? `bound to ${[...new Set(bindings.map((b) => b.hostIp))].join(", ")}` : "publishes no port");
    },
  },
  {
    id: "KRC-NET1",
    title: "Attached only to the networks its role needs (database internal-only, proxy apart from it)",
    run: checkRoleNetworks,
  },
  {
    id: "KRC-NET2",
    title: "Attached only to the stack's own networks",
    run(s, input) {
      // Docker's "none" network (null driver) connects nothing.
      const foreign = Object.values(s.networks).filter((n) => n.Driver !== "null" && n.Labels?.[LABELS.stack] !== input.stack);
      return foreign.length > 0 ? fail(`foreign networks ${foreign.map((n) => n.Name).join(", ")}`) : pass(`all labelled ${LABELS.stack}=${input.stack}`);
    },
  },
  {
    id: "KRC-NET3",
    title: "Only the stack's containers are attached to the stack's networks",
    run(s, input) {
      const members = new Set(input.subjects.map((o) => o.container.Id));
      const foreign = foreignAttachments(Object.values(s.networks), input.stack, members);
      const own = Object.values(s.networks).filter((n) => n.Labels?.[LABELS.stack] === input.stack).map((n) => n.Name);
      if (foreign.length > 0) return fail(`foreign containers on the stack's networks: ${foreign.map((f) => `${f.container} on ${f.network}`).join(", ")}`);
      return pass(own.length > 0 ? `only the stack's containers on ${own.join(", ")}` : "on none of the stack's networks");
    },
  },
];
