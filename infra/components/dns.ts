/**
 * Cloudflare DNS for the stack's hostnames: address records, CAA records and optional zone
 * settings, as planned by {@link planDns}. Uses the default Cloudflare provider, whose token is the
 * secret stack config `cloudflare:apiToken` (least scope: docs/edge.md).
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { type DnsPlanInput, planDns } from "../dns-plan";

/** Type token of the {@link Dns} component. */
export const DNS_TYPE = "krc:dns:Dns";

/** Arguments of {@link Dns}: the plan input plus the zone to write into. */
export interface DnsArgs extends DnsPlanInput {
  /** Cloudflare zone id (32 hex characters) that contains every hostname. */
  readonly zoneId: pulumi.Input<string>;
}

/** The stack's public DNS: one Cloudflare record per planned entry, all children of this component. */
export class Dns extends pulumi.ComponentResource {
  /** Every record, in plan order (A, AAAA, CAA per hostname). */
  public readonly records: readonly cloudflare.DnsRecord[];
  /** The zone settings this stack manages (empty unless proxied or opted in). */
  public readonly zoneSettings: readonly cloudflare.ZoneSetting[];
  /** Cloudflare ids of the records, for `pulumi import` bookkeeping and audits. */
  public readonly recordIds: pulumi.Output<string[]>;
  /** The hostnames that resolve to the server. */
  public readonly hostnames: readonly string[];

  constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
    // Planned (and so validated) before anything, the component included, is registered.
    const plan = planDns(args);
    super(DNS_TYPE, name, {}, opts);

    this.records = plan.records.map(
      (record) =>
        // One DNS record of the plan; the comment marks it as owned by this stack in the dashboard.
        new cloudflare.DnsRecord(
          `${name}-${record.key}`,
          {
            zoneId: args.zoneId,
            name: record.name,
            type: record.type,
            ttl: record.ttl,
            content: record.content,
            proxied: record.proxied,
            data: record.data,
            comment: `managed by Pulumi (${pulumi.getProject()}/${pulumi.getStack()})`,
          },
          { parent: this },
        ),
    );
    this.zoneSettings = plan.zoneSettings.map(
      // One zone-wide setting; it affects every name in the zone, hence opt-in (docs/edge.md).
      (setting) =>
        new cloudflare.ZoneSetting(
          `${name}-${setting.settingId}`,
          { zoneId: args.zoneId, settingId: setting.settingId, value: setting.value },
          { parent: this },
        ),
    );
    this.recordIds = pulumi.all(this.records.map((record) => record.id));
    this.hostnames = [...args.hostnames];
    this.registerOutputs({ recordIds: this.recordIds, hostnames: this.hostnames });
  }
}
