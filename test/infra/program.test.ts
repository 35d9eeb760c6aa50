/**
 * The whole program (infra/index.ts) under in-memory mocks: the resource graph it registers for
 * the dev and prod stack files, checked as security policies.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import {
  collectUnhandledRejections,
  registeredUrns,
  valueOf,
  type Recorded,
  type RecordingMocks,
} from "../support/mocks";
import { importProgram, prepareProgram, runProgram, type Program } from "../support/program";

function labelsOf(container: Recorded): Record<string, string> {
  return Object.fromEntries((container.inputs.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));
}

/** Service containers (everything but the never-started files writers). */
function servicesOf(mocks: RecordingMocks): Map<string, Recorded> {
  return new Map([...mocks.containers()].filter(([, c]) => labelsOf(c)["krc.role"] === undefined));
}

/** Files writers, by the service they write for. */
function writersOf(mocks: RecordingMocks): Map<string, Recorded> {
  return new Map(
    [...mocks.containers()].filter(([, c]) => labelsOf(c)["krc.role"] === "files-writer").map(([, c]) => [labelsOf(c)["krc.service"] as string, c]),
  );
}

describe("the dev stack's resource graph", () => {
  let mocks: RecordingMocks;
  let program: Program;
  let containers: Map<string, Recorded>;
  let writers: Map<string, Recorded>;
  beforeAll(async () => {
    ({ mocks, program } = await runProgram("dev"));
    containers = servicesOf(mocks);
    writers = writersOf(mocks);
  });

  it("creates exactly the four containers of the architecture when deployed", () => {
    expect([...containers.keys()].sort()).toEqual(["krc-dev-api", "krc-dev-db", "krc-dev-migrate", "krc-dev-proxy"]);
  });

  it("applies the hardened baseline to every container", () => {
    for (const [name, c] of containers) {
      const i = c.inputs;
      expect(i.readOnly, name).toBe(true);
      expect(i.privileged, name).toBe(false);
      expect(i.securityOpts, name).toEqual(["no-new-privileges:true"]);
      expect((i.capabilities as { drops: string[] }).drops, name).toEqual(["ALL"]);
      expect(i.memory, name).toBeGreaterThan(0);
      expect(i.cpuShares, name).toBeGreaterThan(0);
      expect(i.logDriver, name).toBe("json-file");
      expect(i.logOpts, name).toEqual({ "max-size": "10m", "max-file": "3" });
      expect(i.user, name).toMatch(/^\d+:\d+$/);
      expect(i.destroyGraceSeconds, name).toBeGreaterThan(0);
      expect(labelsOf(c), name).toEqual({
        "krc.project": "krc",
        "krc.stack": "dev",
        "krc.service": name.replace("krc-dev-", ""),
        "krc.files-revision": `${writers.get(name.replace("krc-dev-", ""))?.name ?? "?"}-id`,
      });
      for (const options of Object.values(i.tmpfs as Record<string, string>)) {
        expect(options, name).toMatch(/^rw,noexec,nosuid,nodev,size=\d+m(,uid=\d+,gid=\d+)?$/);
      }
    }
  });

  it("healthchecks and waits for every service, and runs migrations once without restarts", () => {
    for (const service of ["db", "api", "proxy"]) {
      const i = containers.get(`krc-dev-${service}`)?.inputs ?? {};
      expect(i.restart, service).toBe("unless-stopped");
      expect(i.wait, service).toBe(true);
      expect((i.healthcheck as { tests: string[] }).tests[0], service).toBe("CMD");
    }
    const migrate = containers.get("krc-dev-migrate")?.inputs ?? {};
    expect(migrate).toMatchObject({ restart: "no", attach: true, logs: true, mustRun: false });
    expect(migrate.healthcheck).toBeUndefined();
  });

  it("adds back no capability except NET_BIND_SERVICE for the proxy", () => {
    const adds = Object.fromEntries([...containers].map(([name, c]) => [name, (c.inputs.capabilities as { adds: string[] }).adds]));
    expect(adds).toEqual({ "krc-dev-db": [], "krc-dev-migrate": [], "krc-dev-api": [], "krc-dev-proxy": ["NET_BIND_SERVICE"] });
  });

  it("runs as non-root wherever the image allows", () => {
    const users = Object.fromEntries([...containers].map(([name, c]) => [name, c.inputs.user]));
    expect(users).toEqual({ "krc-dev-db": "999:999", "krc-dev-migrate": "1000:1000", "krc-dev-api": "1000:1000", "krc-dev-proxy": "0:0" });
  });

  it("puts no secret value in any container's environment, command or labels", () => {
    expect(mocks.secretValues.size).toBeGreaterThan(8);
    for (const [name, c] of containers) {
      const visible = JSON.stringify([c.inputs.envs, c.inputs.command, c.inputs.labels, c.inputs.healthcheck]);
      for (const value of mocks.secretValues) {
        expect(visible.includes(value), `${name} exposes a secret`).toBe(false);
      }
    }
  });

  it("delivers each service only its own files, as 0400 files owned by its user, through a writer", () => {
    const files = Object.fromEntries(
      [...writers].map(([service, writer]) => {
        const uploads = writer.inputs.uploads as { file: string; owner: string; group: string; permissions: string }[];
        const uid = String(containers.get(`krc-dev-${service}`)?.inputs.user).split(":")[0];
        for (const upload of uploads) {
          expect(upload, service).toMatchObject({ owner: uid, group: uid, permissions: "0400" });
        }
        return [service, uploads.map((u) => u.file).sort()];
      }),
    );
    expect(files).toEqual({
      db: ["ca.crt", "pg_hba.conf", "postgres_password", "server.crt", "server.key"].map((f) => `/run/secrets/${f}`),
      migrate: ["admin_initial_password", "db_ca.crt", "db_owner_password"].map((f) => `/run/secrets/${f}`),
      api: ["db_app_password", "db_ca.crt", "jwt_signing_key", "secret_key", "zapier_hmac_secret"].map((f) => `/run/secrets/${f}`),
      proxy: ["/etc/caddy/Caddyfile"],
    });
    for (const [name, c] of containers) expect(c.inputs.uploads, name).toBeUndefined();
  });

  it("never starts a writer, and gives it no network, no capability and no privilege", () => {
    for (const [service, w] of writers) {
      expect(w.inputs, service).toMatchObject({
        name: `${(w.inputs.mounts as { source: string }[])[0]?.source ?? "?"}-writer`,
        start: false,
        mustRun: false,
        restart: "no",
        networkMode: "none",
        privileged: false,
        securityOpts: ["no-new-privileges:true"],
        capabilities: { drops: ["ALL"], adds: [] },
      });
      expect(w.inputs.ports, service).toBeUndefined();
      expect(w.inputs.networksAdvanced, service).toBeUndefined();
    }
  });

  it("keeps the uploaded secrets marked secret, so the state encrypts them", () => {
    for (const service of ["db", "migrate", "api"]) {
      expect(writers.get(service)?.secretFields, service).toContain("uploads");
    }
  });

  it("mounts each service's files read-only from its own named volume", () => {
    const targets = { db: "/run/secrets", migrate: "/run/secrets", api: "/run/secrets", proxy: "/etc/caddy" } as const;
    for (const [service, target] of Object.entries(targets)) {
      const volume = service === "proxy" ? "krc-dev-caddy-etc" : `krc-dev-${service}-secrets`;
      const mounts = containers.get(`krc-dev-${service}`)?.inputs.mounts as { type: string; source: string; target: string }[];
      expect(mounts, service).toContainEqual({ type: "volume", source: volume, target, readOnly: true });
      expect(writers.get(service)?.inputs.mounts, service).toEqual([{ type: "volume", source: volume, target }]);
    }
  });

  it("points the API at secret files, never values", () => {
    const envs = containers.get("krc-dev-api")?.inputs.envs as string[];
    expect(envs).toEqual(
      expect.arrayContaining([
        "DATABASE_HOST=krc-dev-db",
        "DATABASE_USER=krc_app",
        "DATABASE_PASSWORD_FILE=/run/secrets/db_app_password",
        "DATABASE_SSLMODE=verify-full",
        "DATABASE_CA_FILE=/run/secrets/db_ca.crt",
        "JWT_SIGNING_KEY_FILE=/run/secrets/jwt_signing_key",
        "SECRET_KEY_FILE=/run/secrets/secret_key",
        "ZAPIER_HMAC_SECRET_FILE=/run/secrets/zapier_hmac_secret",
        "ALLOWED_HOSTS=krc.localhost,kiosk.localhost",
        "CORS_ORIGINS=https://krc.localhost:8443,https://kiosk.localhost:8443",
        "TRUST_PROXY_HOPS=1",
      ]),
    );
    const migrate = containers.get("krc-dev-migrate")?.inputs.envs as string[];
    expect(migrate).toEqual(
      expect.arrayContaining(["DATABASE_USER=krc_owner", "APP_ROLE=krc_app", "BOOTSTRAP_ADMIN_EMAIL=admin@krc.localhost"]),
    );
  });

  it("keeps the database on the internal network only, with no published port", () => {
    const db = containers.get("krc-dev-db")?.inputs ?? {};
    // No networkMode: the provider detaches from the default bridge when networksAdvanced is set.
    expect(db.networkMode).toBeUndefined();
    expect(db.networksAdvanced).toEqual([{ name: "krc-dev-internal" }]);
    expect(db.ports).toBeUndefined();
    const internal = mocks.ofType("docker:index/network:Network").find((n) => n.inputs.name === "krc-dev-internal");
    expect(internal?.inputs.internal).toBe(true);
  });

  it("joins the API to both networks and the migrations to the internal one only", () => {
    expect(containers.get("krc-dev-api")?.inputs.networksAdvanced).toEqual([{ name: "krc-dev-external" }, { name: "krc-dev-internal" }]);
    expect(containers.get("krc-dev-migrate")?.inputs.networksAdvanced).toEqual([{ name: "krc-dev-internal" }]);
    expect(containers.get("krc-dev-proxy")?.inputs.networksAdvanced).toEqual([{ name: "krc-dev-external" }]);
  });

  it("publishes ports only on the proxy, bound to bindAddress", () => {
    const publishing = [...containers].filter(([, c]) => c.inputs.ports !== undefined).map(([name]) => name);
    expect(publishing).toEqual(["krc-dev-proxy"]);
    expect(containers.get("krc-dev-proxy")?.inputs.ports).toEqual([
      { internal: 80, external: 8080, ip: "127.0.0.1", protocol: "tcp" },
      { internal: 443, external: 8443, ip: "127.0.0.1", protocol: "tcp" },
    ]);
  });

  it("builds the API image locally with a content tag from the configured base image", () => {
    const [image] = mocks.ofType("docker:index/image:Image");
    expect(image?.inputs).toMatchObject({
      skipPush: true,
      build: { context: "/tmp/krc-test-api-context", args: { BASE_IMAGE: "node:22-bookworm-slim" }, platform: "linux/amd64", builderVersion: "BuilderV1" },
    });
    expect(image?.inputs.imageName).toMatch(/^krc-api:[0-9a-f]{32}$/);
    expect(containers.get("krc-dev-api")?.inputs.image).toBe(image?.inputs.imageName);
    expect(containers.get("krc-dev-migrate")?.inputs.image).toBe(image?.inputs.imageName);
  });

  it("connects the Postgres provider to the database container's internal address", async () => {
    const [provider] = mocks.ofType("pulumi:providers:postgresql");
    expect(provider?.inputs.host).toBe(await valueOf(program.postgres.host));
    expect(provider?.inputs.host).toMatch(/^10\.9\.0\.\d+$/);
  });

  it("parents every resource to a component", () => {
    const topLevel = registeredUrns()
      .map((urn) => urn.split("::")[2] as string)
      .filter((type) => !type.includes("$"));
    expect(topLevel.sort()).toEqual(
      ["krc:api:Api", "krc:database:Database", "krc:database:DatabaseRoles", "krc:database:DatabaseTls", "krc:network:Networks", "krc:proxy:Proxy", "krc:secrets:Secrets"].sort(),
    );
  });

  it("labels every Docker object with the project and stack", () => {
    for (const type of ["docker:index/network:Network", "docker:index/volume:Volume", "docker:index/container:Container"]) {
      for (const r of mocks.ofType(type)) {
        expect(labelsOf(r), r.name).toMatchObject({ "krc.project": "krc", "krc.stack": "dev" });
      }
    }
  });

  it("exports the URLs, container names and role names, with secrets only in secret outputs", async () => {
    expect(program.apiUrl).toBe("https://krc.localhost:8443");
    expect(program.kioskUrl).toBe("https://kiosk.localhost:8443");
    expect(program.httpUrl).toBe("http://krc.localhost:8080");
    expect(await valueOf(program.containers)).toEqual(["krc-dev-db", "krc-dev-migrate", "krc-dev-api", "krc-dev-proxy"]);
    expect(await valueOf(pulumi.output(program.postgres))).toMatchObject({
      port: 5432,
      database: "krc",
      roles: { superuser: { user: "postgres" }, owner: { user: "krc_owner" }, app: { user: "krc_app" }, readonly: { user: "krc_readonly" } },
    });
    expect(await pulumi.isSecret(program.adminInitialPassword)).toBe(true);
    expect(await pulumi.isSecret(program.postgresCredentials)).toBe(true);
    expect(await pulumi.isSecret(pulumi.output(program.postgres))).toBe(false);
    expect(mocks.secretValues).toContain(await valueOf(program.adminInitialPassword));
  });

  it("creates no DNS records when no zone is configured", () => {
    expect(mocks.resources.filter((r) => r.type.startsWith("cloudflare:"))).toEqual([]);
  });
});

describe("the prod stack's resource graph", () => {
  let mocks: RecordingMocks;
  beforeAll(async () => {
    ({ mocks } = await runProgram("prod"));
  });

  it("uses the digest-pinned images from the stack file", () => {
    const names = mocks.ofType("docker:index/remoteImage:RemoteImage").map((r) => r.inputs.name);
    expect(names.every((name) => /@sha256:[0-9a-f]{64}$/.test(String(name)))).toBe(true);
    const [image] = mocks.ofType("docker:index/image:Image");
    expect((image?.inputs.build as { args: { BASE_IMAGE: string } }).args.BASE_IMAGE).toMatch(/^node:22-bookworm-slim@sha256:/);
  });

  it("publishes 80 and 443 on the configured address", () => {
    expect(servicesOf(mocks).get("krc-prod-proxy")?.inputs.ports).toEqual([
      { internal: 80, external: 80, ip: "203.0.113.10", protocol: "tcp" },
      { internal: 443, external: 443, ip: "203.0.113.10", protocol: "tcp" },
    ]);
  });

  it("fixes the internal subnet and the database's address, and sends the provider through the tunnel", () => {
    const internal = mocks.ofType("docker:index/network:Network").find((n) => n.inputs.name === "krc-prod-internal");
    expect(internal?.inputs.ipamConfigs).toEqual([{ subnet: "10.89.0.0/24", gateway: "10.89.0.1" }]);
    expect(servicesOf(mocks).get("krc-prod-db")?.inputs.networksAdvanced).toEqual([{ name: "krc-prod-internal", ipv4Address: "10.89.0.10" }]);
    const [provider] = mocks.ofType("pulumi:providers:postgresql");
    expect([provider?.inputs.host, provider?.inputs.port]).toEqual(["127.0.0.1", "15432"]);
  });

  it("creates address records for both hostnames when a zone is configured", () => {
    const records = mocks.ofType("cloudflare:index/dnsRecord:DnsRecord").filter((r) => r.inputs.type === "A");
    expect(records.map((r) => [r.inputs.name, r.inputs.content]).sort()).toEqual([
      ["kiosk.bakersfieldesports.com", "203.0.113.10"],
      ["krc.bakersfieldesports.com", "203.0.113.10"],
    ]);
  });
});

describe("a stack whose config is invalid", () => {
  it("registers no resource when a config value is invalid", async () => {
    const mocks = await prepareProgram("prod", { corsOrigins: ["*"] });
    await expect(importProgram()).rejects.toThrow('krc:corsOrigins[0]: "*" is a wildcard');
    expect(mocks.resources).toEqual([]);
  });
});


describe("a deployment whose migrations fail", () => {
  it("fails with the exit code and creates neither the API nor the proxy when the migration container exits non-zero", async () => {
    let mocks: RecordingMocks | undefined;
    const errors = await collectUnhandledRejections(async () => {
      mocks = await prepareProgram("dev", {}, { exitCodes: { "krc-dev-migrate": 3 } });
      // No await on the outputs: a failed registration leaves the dependants' outputs pending.
      await importProgram();
    });
    const messages = new Set(errors.map((error) => (error instanceof Error ? error.message : String(error))));
    expect([...messages]).toEqual(["migrations failed: container krc-dev-migrate exited with code 3; see `docker logs krc-dev-migrate`"]);
    expect([...(mocks ? servicesOf(mocks).keys() : [])].sort()).toEqual(["krc-dev-db", "krc-dev-migrate"]);
  });
});
