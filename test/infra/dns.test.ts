import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LETS_ENCRYPT_PRODUCTION, LETS_ENCRYPT_STAGING } from "../../infra/caddyfile";
import { DNS_TYPE, Dns, type DnsArgs } from "../../infra/components/dns";
import { type DnsPlanInput, planDns } from "../../infra/dns-plan";

const BASE: DnsPlanInput = {
  hostnames: ["krc.bakersfieldesports.com", "kiosk.bakersfieldesports.com"],
  publicIpv4: "203.0.113.10",
  tls: "acme",
  acmeCa: LETS_ENCRYPT_PRODUCTION,
  iodefEmail: "ops@bakersfieldesports.com",
  proxied: false,
  manageZoneSettings: false,
};

const caaOf = (input: DnsPlanInput, name: string) =>
  planDns(input)
    .records.filter((r) => r.type === "CAA" && r.name === name)
    .map((r) => r.data);

describe("planDns", () => {
  it("plans one DNS-only A record per hostname with a 300 s TTL when no IPv6 is configured", () => {
    const addresses = planDns(BASE).records.filter((r) => r.type !== "CAA");
    expect(addresses).toEqual([
      { key: "krc.bakersfieldesports.com-A", name: "krc.bakersfieldesports.com", type: "A", content: "203.0.113.10", ttl: 300, proxied: false },
      { key: "kiosk.bakersfieldesports.com-A", name: "kiosk.bakersfieldesports.com", type: "A", content: "203.0.113.10", ttl: 300, proxied: false },
    ]);
  });

  it("adds an AAAA record per hostname when an IPv6 address is configured", () => {
    const aaaa = planDns({ ...BASE, publicIpv6: "2001:db8::10" }).records.filter((r) => r.type === "AAAA");
    expect(aaaa.map((r) => [r.name, r.content])).toEqual([
      ["krc.bakersfieldesports.com", "2001:db8::10"],
      ["kiosk.bakersfieldesports.com", "2001:db8::10"],
    ]);
  });

  it("plans no AAAA record when the IPv6 address is empty", () => {
    expect(planDns({ ...BASE, publicIpv6: "" }).records.some((r) => r.type === "AAAA")).toBe(false);
  });

  it("allows only Let's Encrypt, no wildcard, and names an iodef contact when the CA is Let's Encrypt", () => {
    for (const name of BASE.hostnames) {
      expect(caaOf(BASE, name)).toEqual([
        { flags: 0, tag: "issue", value: "letsencrypt.org" },
        { flags: 0, tag: "issuewild", value: ";" },
        { flags: 0, tag: "iodef", value: "mailto:ops@bakersfieldesports.com" },
      ]);
    }
  });

  it("allows Let's Encrypt when the staging directory is selected", () => {
    expect(caaOf({ ...BASE, acmeCa: LETS_ENCRYPT_STAGING }, "krc.bakersfieldesports.com")[0]?.value).toBe("letsencrypt.org");
  });

  it("allows the CA named by caaIssuer when the directory is not a known one", () => {
    const input = { ...BASE, acmeCa: "https://acme.example.net/directory", caaIssuer: "example.net" };
    expect(caaOf(input, "krc.bakersfieldesports.com")[0]?.value).toBe("example.net");
  });

  it("forbids every public CA when certificates come from Caddy's internal CA", () => {
    expect(caaOf({ ...BASE, tls: "internal" }, "krc.bakersfieldesports.com")[0]).toEqual({ flags: 0, tag: "issue", value: ";" });
  });

  it("proxies the address records with the automatic TTL and enforces strict origin TLS when proxied", () => {
    const plan = planDns({ ...BASE, proxied: true });
    for (const record of plan.records.filter((r) => r.type === "A")) {
      expect(record).toMatchObject({ proxied: true, ttl: 1 });
    }
    expect(plan.records.filter((r) => r.type === "CAA").every((r) => r.proxied === undefined)).toBe(true);
    expect(plan.zoneSettings).toEqual([{ settingId: "ssl", value: "strict" }]);
  });

  it("manages no zone setting when DNS-only and not opted in", () => {
    expect(planDns(BASE).zoneSettings).toEqual([]);
  });

  it("sets minimum TLS 1.2 and always HTTPS when opted in and DNS-only", () => {
    expect(planDns({ ...BASE, manageZoneSettings: true }).zoneSettings).toEqual([
      { settingId: "min_tls_version", value: "1.2" },
      { settingId: "always_use_https", value: "on" },
    ]);
  });

  it("leaves always HTTPS to Caddy when opted in and proxied, so HTTP-01 reaches the origin", () => {
    expect(planDns({ ...BASE, manageZoneSettings: true, proxied: true }).zoneSettings).toEqual([
      { settingId: "ssl", value: "strict" },
      { settingId: "min_tls_version", value: "1.2" },
    ]);
  });

  it.each<[string, Partial<DnsPlanInput>, string]>([
    ["no hostnames", { hostnames: [] }, "planDns: hostnames is empty; allowed: one or more hostnames"],
    ["a bad hostname", { hostnames: ["krc"] }, 'planDns: hostnames "krc" is not a lowercase fully qualified hostname'],
    ["a repeated hostname", { hostnames: ["a.example.com", "a.example.com"] }, "planDns: hostnames contains a hostname twice"],
    ["a bad IPv4", { publicIpv4: "203.0.113" }, 'planDns: publicIpv4 "203.0.113" is not an IPv4 address'],
    ["a bad IPv6", { publicIpv6: "2001:db8::g" }, 'planDns: publicIpv6 "2001:db8::g" is not an IPv6 address (leave it empty for no AAAA records)'],
    ["a bad iodef email", { iodefEmail: "ops" }, 'planDns: iodefEmail "ops" is not an email address'],
    ["a bad caaIssuer", { caaIssuer: "Let's Encrypt" }, `planDns: caaIssuer "Let's Encrypt" is not a CA domain such as letsencrypt.org`],
    ["an unknown ACME CA", { acmeCa: "https://acme.example.net/directory" }, 'planDns: acmeCa "https://acme.example.net/directory" has no known CAA issuer'],
  ])("throws naming the field when given %s", (_case, change, message) => {
    expect(() => planDns({ ...BASE, ...change })).toThrow(message);
  });
});

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

describe("Dns component", () => {
  let registered: Registered[] = [];

  beforeAll(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => args.inputs,
      },
      "krc",
      "prod",
      false,
    );
  });

  beforeEach(() => {
    registered = [];
  });

  const ARGS: DnsArgs = { ...BASE, publicIpv6: "2001:db8::10", zoneId: "0123456789abcdef0123456789abcdef" };

  async function deploy(args: DnsArgs): Promise<Dns> {
    const dns = new Dns("krc-prod-dns", args);
    await new Promise<string[]>((resolve) => dns.recordIds.apply(resolve));
    return dns;
  }

  it("creates one Cloudflare record per planned record with the zone id when deployed", async () => {
    await deploy(ARGS);
    const records = registered.filter((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord");
    const plan = planDns(ARGS);
    expect(records).toHaveLength(plan.records.length);
    expect(records.find((r) => r.name === "krc-prod-dns-krc.bakersfieldesports.com-AAAA")?.inputs).toEqual({
      zoneId: ARGS.zoneId,
      name: "krc.bakersfieldesports.com",
      type: "AAAA",
      content: "2001:db8::10",
      ttl: 300,
      proxied: false,
      comment: "managed by Pulumi (krc/prod)",
    });
    expect(records.find((r) => r.name === "krc-prod-dns-kiosk.bakersfieldesports.com-CAA-issue")?.inputs).toEqual({
      zoneId: ARGS.zoneId,
      name: "kiosk.bakersfieldesports.com",
      type: "CAA",
      ttl: 3600,
      data: { flags: 0, tag: "issue", value: "letsencrypt.org" },
      comment: "managed by Pulumi (krc/prod)",
    });
  });

  it("parents every record and zone setting to the component when deployed", async () => {
    const dns = await deploy({ ...ARGS, proxied: true, manageZoneSettings: true });
    const urns = await Promise.all(
      [...dns.records, ...dns.zoneSettings].map((child) => new Promise<string>((resolve) => child.urn.apply(resolve))),
    );
    expect(urns.length).toBe(registered.filter((r) => r.type !== DNS_TYPE).length);
    for (const urn of urns) expect(urn).toContain(`::${DNS_TYPE}$cloudflare:index/`);
  });

  it("creates the strict SSL and minimum TLS zone settings when proxied and opted in", async () => {
    await deploy({ ...ARGS, proxied: true, manageZoneSettings: true });
    const settings = registered.filter((r) => r.type === "cloudflare:index/zoneSetting:ZoneSetting").map((r) => r.inputs);
    expect(settings).toEqual([
      { zoneId: ARGS.zoneId, settingId: "ssl", value: "strict" },
      { zoneId: ARGS.zoneId, settingId: "min_tls_version", value: "1.2" },
    ]);
  });

  it("registers nothing when the input is invalid", () => {
    expect(() => new Dns("krc-prod-bad", { ...ARGS, publicIpv4: "not-an-ip" })).toThrow(
      'planDns: publicIpv4 "not-an-ip" is not an IPv4 address',
    );
    expect(registered.filter((r) => r.name.startsWith("krc-prod-bad"))).toEqual([]);
  });
});
