import { describe, expect, it } from "vitest";
import { LETS_ENCRYPT_PRODUCTION, renderCaddyfile } from "../../infra/caddyfile";
import { POLICIES } from "../../policy/policies";
import { caddyHsts } from "../../policy/rules/caddy";
import { TYPES } from "../../policy/rules/common";
import { corsOrigins } from "../../policy/rules/cors";
import { prodImagesPinned } from "../../policy/rules/images";
import { databaseInternalOnly } from "../../policy/rules/network";
import { noSecretInEnvs, noSecretSourceInEnvs } from "../../policy/rules/secrets";
import { containerProps, resource, validateResource, validateStack } from "./args";

const DIGEST = `@sha256:${"d".repeat(64)}`;

describe("krc-no-secret-in-envs", () => {
  it("passes envs that carry only *_FILE paths and plain settings", async () => {
    expect(await validateResource(noSecretInEnvs, TYPES.container, containerProps("api"))).toEqual([]);
  });

  it.each([
    ["a password is passed by value", "POSTGRES_PASSWORD=hunter2", /POSTGRES_PASSWORD is named like a secret/],
    ["a JWT key is passed by value", "JWT_SIGNING_KEY=abc", /JWT_SIGNING_KEY is named like a secret/],
    ["generated hex hides under a neutral name", `SETTING=${"ab12".repeat(16)}`, /SETTING holds what looks like a long hex/],
    ["a connection URL embeds a password", "DATABASE_URL=postgresql://app:pw@db:5432/krc", /DATABASE_URL holds what looks like a URL with an embedded password/],
  ])("reports a violation when %s", async (_when, env, message) => {
    const props = containerProps("api", (p) => void p.envs?.push(env));
    const found = await validateResource(noSecretInEnvs, TYPES.container, props);
    expect(found).toEqual([expect.stringMatching(message)]);
    expect(found.join("\n")).not.toContain(env.slice(env.indexOf("=") + 1));
  });
});

describe("krc-no-secret-source-in-envs", () => {
  const password = resource("random:index/randomPassword:RandomPassword", "jwt", { result: "x" });
  const db = resource(TYPES.container, "db", containerProps("db"));

  it("passes envs computed only from non-secret resources", async () => {
    const api = resource(TYPES.container, "api", containerProps("api"), { envs: [db] });
    expect(await validateStack(noSecretSourceInEnvs, [password, db, api])).toEqual([]);
  });

  it("reports a violation when an env is computed from a generated password", async () => {
    const api = resource(TYPES.container, "api", containerProps("api"), { envs: [db, password] });
    expect(await validateStack(noSecretSourceInEnvs, [password, db, api])).toEqual([
      expect.stringMatching(/envs of api are computed from random:index\/randomPassword:RandomPassword jwt/),
    ]);
  });
});

describe("krc-db-internal-only", () => {
  const internal = resource(TYPES.network, "internal", { name: "krc-dev-internal", internal: true });
  const external = resource(TYPES.network, "external", { name: "krc-dev-external", internal: false });
  const stack = (dbNets: string[], proxyNets: string[] = ["krc-dev-external"]) => [
    internal,
    external,
    resource(TYPES.container, "db", containerProps("db", (p) => void (p.networksAdvanced = dbNets.map((name) => ({ name }))))),
    resource(TYPES.container, "api", containerProps("api", (p) => void (p.networksAdvanced = [{ name: "krc-dev-external" }, { name: "krc-dev-internal" }]))),
    resource(TYPES.container, "proxy", containerProps("proxy", (p) => void (p.networksAdvanced = proxyNets.map((name) => ({ name }))))),
  ];

  it("passes when the database is on the internal network only", async () => {
    expect(await validateStack(databaseInternalOnly, stack(["krc-dev-internal"]))).toEqual([]);
  });

  it("reports a violation when the database joins the external network", async () => {
    expect(await validateStack(databaseInternalOnly, stack(["krc-dev-internal", "krc-dev-external"]))).toEqual([
      "db joins krc-dev-external, which is not an internal network of this stack",
      "proxy shares network krc-dev-external with the database",
    ]);
  });

  it("reports a violation when the proxy shares the database's network", async () => {
    expect(await validateStack(databaseInternalOnly, stack(["krc-dev-internal"], ["krc-dev-external", "krc-dev-internal"]))).toEqual([
      "proxy shares network krc-dev-internal with the database",
    ]);
  });

  it("reports a violation when a container would join the default bridge", async () => {
    const lone = resource(TYPES.container, "api", containerProps("api", (p) => { p.networkMode = undefined; p.networksAdvanced = []; }));
    expect(await validateStack(databaseInternalOnly, [internal, lone])).toEqual([expect.stringMatching(/default bridge/)]);
  });
});

describe("krc-cors-origins", () => {
  const withCors = (origins: string) => containerProps("api", (p) => void p.envs?.push(`CORS_ORIGINS=${origins}`));

  it("passes exact https origins in prod", async () => {
    const props = withCors("https://krc.example.com,https://kiosk.example.com");
    expect(await validateResource(corsOrigins, TYPES.container, props, { stack: "prod" })).toEqual([]);
  });

  it("passes a plain-http origin in dev", async () => {
    expect(await validateResource(corsOrigins, TYPES.container, withCors("http://krc.localhost:8080"))).toEqual([]);
  });

  it.each([
    ["a wildcard is used", "*", /"\*" is a wildcard/],
    ["an origin is plain http", "https://krc.example.com,http://kiosk.example.com", /"http:\/\/kiosk.example.com" is not https \(prod\)/],
    ["an origin carries a path", "https://krc.example.com/app", /is not an exact origin/],
    ["the list is empty", "", /empty in prod/],
  ])("reports a violation in prod when %s", async (_when, origins, message) => {
    expect(await validateResource(corsOrigins, TYPES.container, withCors(origins), { stack: "prod" })).toEqual([expect.stringMatching(message)]);
  });

  it("applies the prod rules when the policy config says prod whatever the stack is called", async () => {
    const found = await validateResource(corsOrigins, TYPES.container, withCors("http://krc.example.com"), { stack: "production", config: { environment: "prod" } });
    expect(found).toEqual([expect.stringMatching(/is not https/)]);
  });
});

describe("krc-prod-images-pinned", () => {
  const images = (postgres: string, base: string) => {
    const remote = resource(TYPES.remoteImage, "db-image", { name: postgres }, {}, "prod");
    const built = resource(TYPES.image, "api-image", { imageName: "krc-api:1234", build: { args: { BASE_IMAGE: base } } }, {}, "prod");
    const db = resource(TYPES.container, "db", containerProps("db"), { image: [remote] }, "prod");
    return [remote, built, db];
  };

  it("passes digests in prod", async () => {
    expect(await validateStack(prodImagesPinned, images(`postgres:17${DIGEST}`, `node:20${DIGEST}`))).toEqual([]);
  });

  it("reports a violation for every tag-only image in prod", async () => {
    expect(await validateStack(prodImagesPinned, images("postgres:17", "node:20"))).toEqual([
      "RemoteImage db-image pulls postgres:17, not pinned by @sha256 digest",
      "Image api-image builds from BASE_IMAGE=node:20, not pinned by @sha256 digest",
    ]);
  });

  it("reports a violation when a container names a tag directly in prod", async () => {
    const c = resource(TYPES.container, "proxy", containerProps("proxy", (p) => void (p.image = "caddy:2")), {}, "prod");
    expect(await validateStack(prodImagesPinned, [c])).toEqual(["Container proxy runs caddy:2, neither pinned by digest nor an image of this stack"]);
  });

  it("passes a container that runs the image the stack builds from a pinned base", async () => {
    const [, built] = images(`postgres:17${DIGEST}`, `node:20${DIGEST}`);
    const api = resource(TYPES.container, "api", containerProps("api", (p) => void (p.image = "krc-api:1234")), {}, "prod");
    expect(await validateStack(prodImagesPinned, [built as ReturnType<typeof resource>, api])).toEqual([]);
  });

  it("allows tags in dev", async () => {
    const dev = images("postgres:17", "node:20").map((r) => ({ ...r, urn: r.urn.replace(":prod::", ":dev::") }));
    expect(await validateStack(prodImagesPinned, dev)).toEqual([]);
  });
});

describe("krc-caddy-hsts", () => {
  const writer = (content: string) =>
    resource(
      TYPES.container,
      "proxy-etc-writer",
      containerProps("proxy", (p) => {
        p.labels?.push({ label: "krc.role", value: "files-writer" });
        p.uploads = [{ file: "/etc/caddy/Caddyfile", content }];
      }),
    );
  const proxy = resource(TYPES.container, "proxy", containerProps("proxy"));
  const caddyfile = renderCaddyfile({
    apiHost: "krc.example.com",
    kioskHost: "kiosk.example.com",
    tls: "acme",
    acmeEmail: "ops@example.com",
    acmeCa: LETS_ENCRYPT_PRODUCTION,
    hstsPreload: false,
    publicHttpsPort: 443,
    upstream: "krc-prod-api:8080",
    maxBodyBytes: 1_048_576,
  });

  it("passes the Caddyfile the program renders when a proxy container receives it", async () => {
    expect(await validateStack(caddyHsts, [proxy, writer(caddyfile)])).toEqual([]);
  });

  it("reports a violation when the Caddyfile has no HSTS header", async () => {
    const stripped = caddyfile.replace(/^.*Strict-Transport-Security.*$/m, "");
    expect(await validateStack(caddyHsts, [proxy, writer(stripped)])).toEqual(["/etc/caddy/Caddyfile sets no Strict-Transport-Security header"]);
  });

  it("reports a violation when HSTS is shorter than a year", async () => {
    const short = caddyfile.replace(/max-age=\d+/, "max-age=300");
    expect(await validateStack(caddyHsts, [proxy, writer(short)])).toEqual([expect.stringMatching(/max-age=300, below 31536000/)]);
  });

  it("reports a violation when no proxy container gets a Caddyfile", async () => {
    expect(await validateStack(caddyHsts, [proxy])).toEqual([expect.stringMatching(/no container of the proxy gets a Caddyfile upload/)]);
  });
});

describe("policy pack", () => {
  it("enforces every rule as mandatory under a unique name when the pack is assembled", () => {
    const names = POLICIES.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(POLICIES.every((p) => p.enforcementLevel === "mandatory")).toBe(true);
  });
});
