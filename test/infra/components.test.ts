/**
 * Each component on its own under mocks: the inputs of its children and the options (parent,
 * deleteBeforeReplace, protect, dependsOn) that a component's `transformations` reveal.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it } from "vitest";
import { renderCaddyfile, type CaddyfileInput } from "../../infra/caddyfile";
import { Api, apiImageTag, type ApiArgs } from "../../infra/components/api";
import { Database, type DatabaseArgs } from "../../infra/components/database";
import { FileVolume, type FileVolumeArgs } from "../../infra/components/file-volume";
import { Networks } from "../../infra/components/networks";
import { ReverseProxy } from "../../infra/components/proxy";
import { SECRET_FILES, Secrets, type SecretName } from "../../infra/components/secrets";
import { installMocks, recordOptions, valueOf, type RecordedOptions, type RecordingMocks } from "../support/mocks";

let mocks: RecordingMocks;
let options: RecordedOptions[];
beforeEach(async () => {
  mocks = await installMocks("t");
  options = [];
});
const recorded = () => ({ transformations: [recordOptions(options)] });
const optionsOf = (name: string) => options.find((o) => o.name === name)?.opts ?? {};
const inputsOf = (name: string) => mocks.resources.find((r) => r.name === name)?.inputs ?? {};

describe("Networks", () => {
  it("creates an internal network without egress and an external one, replaced delete-first", async () => {
    const networks = new Networks("n", { stack: "t" }, recorded());
    expect(await valueOf(networks.internalName)).toBe("krc-t-internal");
    expect(inputsOf("n-internal")).toMatchObject({ name: "krc-t-internal", internal: true, driver: "bridge" });
    expect(inputsOf("n-external")).toMatchObject({ name: "krc-t-external", internal: false });
    expect(inputsOf("n-internal")["options"]).toEqual({ "com.docker.network.bridge.name": "krc-t-in" });
    expect(inputsOf("n-external")["options"]).toEqual({ "com.docker.network.bridge.name": "krc-t-ex" });
    expect([networks.internalBridge, networks.externalBridge]).toEqual(["krc-t-in", "krc-t-ex"]);
    expect(optionsOf("n-internal")).toMatchObject({ parent: networks, deleteBeforeReplace: true });
    expect(await valueOf(networks.internalSubnet)).toMatch(/^172\.\d+\.0\.0\/16$/);
    expect(await valueOf(networks.internalGateway)).toMatch(/^172\.\d+\.0\.1$/);
  });
});

describe("Secrets", () => {
  const versions = Object.fromEntries(Object.keys(SECRET_FILES).map((name, i) => [name, i + 1])) as Record<SecretName, number>;

  it("generates 32 random bytes per secret with its version as keeper", async () => {
    const secrets = new Secrets("s", { versions }, recorded());
    await valueOf(secrets.values.zapier_hmac_secret);
    const bytes = mocks.ofType("random:index/randomBytes:RandomBytes");
    expect(bytes.map((b) => [b.name, b.inputs.length, b.inputs.keepers])).toEqual(
      Object.keys(SECRET_FILES)
        .filter((name) => name !== "admin_initial_password")
        .map((name) => [`s-${name.replace(/_/g, "-")}`, 32, { version: String(versions[name as SecretName]) }]),
    );
    expect(await valueOf(secrets.values.jwt_signing_key)).toMatch(/^[0-9a-f]{64}$/);
    expect(await valueOf(secrets.values.zapier_hmac_secret)).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it("makes the admin's initial password meet the guide's password policy", async () => {
    const secrets = new Secrets("s", { versions }, recorded());
    await valueOf(secrets.values.admin_initial_password);
    const [password] = mocks.ofType("random:index/randomPassword:RandomPassword");
    expect(password?.inputs).toMatchObject({ length: 24, overrideSpecial: "!@#$%^&*()", minUpper: 2, minLower: 2, minNumeric: 2, minSpecial: 2 });
  });

  it("keeps every value secret", async () => {
    const secrets = new Secrets("s", { versions }, recorded());
    for (const [name, value] of Object.entries(secrets.values)) {
      expect(await pulumi.isSecret(value), name).toBe(true);
    }
  });

  it("throws when a version is not a positive integer", () => {
    expect(() => new Secrets("s", { versions: { ...versions, secret_key: 0 } })).toThrow(
      "Secrets s: version of secret_key must be a positive integer, got 0",
    );
  });
});

describe("FileVolume", () => {
  const args: FileVolumeArgs = {
    stack: "t",
    service: "api",
    volumeName: "krc-t-api-secrets",
    target: "/run/secrets",
    image: "krc-api:abc",
    files: [{ name: "secret_key", content: pulumi.secret("s3cret") }],
    uid: 1000,
    gid: 1000,
    secret: true,
  };

  it("writes through a never-started writer whose id is the files' revision", async () => {
    const files = new FileVolume("f", args, recorded());
    expect(await valueOf(files.revision)).toBe("f-writer-id");
    expect(inputsOf("f-writer")).toMatchObject({
      name: "krc-t-api-secrets-writer",
      start: false,
      mustRun: false,
      networkMode: "none",
      readOnly: false,
      uploads: [{ file: "/run/secrets/secret_key", content: "s3cret", owner: "1000", group: "1000", permissions: "0400" }],
    });
    expect(optionsOf("f-writer")).toMatchObject({ parent: files, deleteBeforeReplace: true, additionalSecretOutputs: ["uploads"] });
    expect(files.mount()).toMatchObject({ type: "volume", target: "/run/secrets", readOnly: true });
  });

  it.each(["../escape", "a/b", ""])("throws before registering anything when a file is named %j", (name) => {
    expect(() => new FileVolume("f", { ...args, files: [{ name, content: "x" }] })).toThrow(
      `FileVolume f: file names must be unique plain names ([A-Za-z0-9._-]), got ${JSON.stringify(name)}`,
    );
  });

  it("throws when two files share a name", () => {
    const twice = [
      { name: "a", content: "1" },
      { name: "a", content: "2" },
    ];
    expect(() => new FileVolume("f", { ...args, files: twice })).toThrow('FileVolume f: file names must be unique plain names ([A-Za-z0-9._-]), got "a"');
  });
});

describe("Database", () => {
  const args: DatabaseArgs = {
    stack: "t",
    image: "postgres:17-bookworm",
    internalNetwork: "krc-t-internal",
    superuserPassword: pulumi.secret("pw"),
    protectData: true,
  };

  it("protects and retains the data volume when protectData is on", async () => {
    const db = new Database("d", args, recorded());
    await valueOf(db.internalIp);
    expect(optionsOf("d-data")).toMatchObject({ protect: true, retainOnDelete: true, deleteBeforeReplace: true });
    expect(inputsOf("d-data")).toMatchObject({ name: "krc-t-db-data" });
  });

  it("leaves the data volume deletable when protectData is off", async () => {
    const db = new Database("d", { ...args, protectData: false }, recorded());
    await valueOf(db.internalIp);
    expect(optionsOf("d-data")).toMatchObject({ protect: false, retainOnDelete: false });
  });

  it("replaces its fixed-name container delete-first and reads its address from the internal network", async () => {
    const db = new Database("d", args, recorded());
    expect(await valueOf(db.internalIp)).toMatch(/^10\.9\.0\.\d+$/);
    expect(optionsOf("d-container")).toMatchObject({ parent: db, deleteBeforeReplace: true });
    expect(inputsOf("d-container")).toMatchObject({
      name: "krc-t-db",
      command: ["postgres"],
      envs: ["POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password", "POSTGRES_INITDB_ARGS=--auth-local=scram-sha-256 --auth-host=scram-sha-256"],
      healthcheck: { tests: ["CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432", "-U", "pg_isready", "-d", "postgres"] },
      tmpfs: { "/run/postgresql": "rw,noexec,nosuid,nodev,size=1m,uid=999,gid=999", "/tmp": "rw,noexec,nosuid,nodev,size=64m" },
      mounts: [
        { type: "volume", source: "krc-t-db-data", target: "/var/lib/postgresql/data" },
        { type: "volume", source: "krc-t-db-secrets", target: "/run/secrets", readOnly: true },
      ],
    });
  });

  it("uploads the TLS files and turns TLS on when TLS material is given", async () => {
    const tls = { serverCertPem: "CERT", serverKeyPem: pulumi.secret("KEY"), caCertPem: "CA" };
    const db = new Database("d", { ...args, tls, hbaConf: "local all postgres peer", serverArgs: ["-c", "ssl=on", "-c", "log_connections=on"] }, recorded());
    await valueOf(db.internalIp);
    const inputs = inputsOf("d-container");
    expect(inputs.command).toEqual([
      "postgres",
      ...["ssl=on", "ssl_cert_file=/run/secrets/server.crt", "ssl_key_file=/run/secrets/server.key", "ssl_ca_file=/run/secrets/ca.crt"],
      ...["hba_file=/run/secrets/pg_hba.conf", "log_connections=on"],
    ].flatMap((setting, i) => (i === 0 ? [setting] : ["-c", setting])));
    expect((inputsOf("d-secrets-writer").uploads as { file: string; content: string }[]).map((u) => [u.file, u.content])).toEqual([
      ["/run/secrets/postgres_password", "pw"],
      ["/run/secrets/server.crt", "CERT"],
      ["/run/secrets/server.key", "KEY"],
      ["/run/secrets/ca.crt", "CA"],
      ["/run/secrets/pg_hba.conf", "local all postgres peer"],
    ]);
  });

  it("throws when serverArgs contradict a setting it derives", () => {
    const tls = { serverCertPem: "CERT", serverKeyPem: "KEY", caCertPem: "CA" };
    expect(() => new Database("d", { ...args, tls, serverArgs: ["-c", "ssl_cert_file=/etc/other.crt"] })).toThrow(
      "Database d: serverArgs sets ssl_cert_file=/etc/other.crt, but the component derives ssl_cert_file=/run/secrets/server.crt",
    );
  });

  it("throws when serverArgs are not -c name=value pairs", () => {
    expect(() => new Database("d", { ...args, serverArgs: ["--ssl"] })).toThrow('Database d: serverArgs must be "-c", "name=value" pairs; got ["--ssl"]');
  });
});

describe("Api", () => {
  const args = (after: pulumi.Resource[], zapierOutboundUrls: readonly string[] = []): ApiArgs => ({
    stack: "t",
    bundle: { contextDir: "/tmp/ctx", contentHash: "a".repeat(64) },
    baseImage: "node:22-bookworm-slim",
    internalNetwork: "krc-t-internal",
    externalNetwork: "krc-t-external",
    database: { host: "krc-t-db", port: 5432, name: "krc", ownerUser: "krc_owner", appUser: "krc_app" },
    secrets: {
      dbOwnerPassword: pulumi.secret("o"),
      dbAppPassword: pulumi.secret("a"),
      jwtSigningKey: pulumi.secret("j"),
      secretKey: pulumi.secret("s"),
      zapierHmacSecret: pulumi.secret("z"),
      adminInitialPassword: pulumi.secret("p"),
    },
    adminEmail: "admin@example.com",
    apiHost: "krc.example.com",
    kioskHost: "kiosk.example.com",
    corsOrigins: ["https://krc.example.com"],
    zapierOutboundUrls,
    logLevel: "info",
    after,
  });

  it("runs migrations after the given resources and the API only after the migrations", async () => {
    const roles = new pulumi.ComponentResource("krc:test:Roles", "roles");
    const api = new Api("a", args([roles]), recorded());
    await valueOf(api.containerName);
    expect(optionsOf("a-migrate").dependsOn).toEqual([roles]);
    const gate = optionsOf("a-container").dependsOn as pulumi.Output<pulumi.Resource[]>;
    const [migrate] = await valueOf(gate);
    expect(await valueOf((migrate as pulumi.CustomResource).urn)).toMatch(/::a-migrate$/);
  });

  it("talks plain TCP to the database only when no CA is given", async () => {
    const api = new Api("a", args([]), recorded());
    await valueOf(api.containerName);
    expect(inputsOf("a-container").envs).toContain("DATABASE_SSLMODE=disable");
    expect(JSON.stringify(inputsOf("a-container").envs)).not.toContain("DATABASE_CA_FILE");
  });

  it("delivers outbound webhook URLs as a secret file, never in the environment, when some are configured", async () => {
    const url = "https://hooks.zapier.com/hooks/catch/123/tok3n/";
    const api = new Api("a", args([], [url]), recorded());
    await valueOf(api.containerName);
    const envs = inputsOf("a-container").envs as string[];
    expect(envs).toContain("ZAPIER_OUTBOUND_URLS_FILE=/run/secrets/zapier_outbound_urls");
    expect(JSON.stringify(envs)).not.toContain("tok3n");
    const uploads = inputsOf("a-secrets-writer").uploads as { file: string; content: string }[];
    expect(uploads.find((u) => u.file === "/run/secrets/zapier_outbound_urls")?.content).toBe(url);
    expect(mocks.resources.find((r) => r.name === "a-secrets-writer")?.secretFields).toContain("uploads");
  });

  it("sets no outbound webhook file when none are configured", async () => {
    const api = new Api("a", args([]), recorded());
    await valueOf(api.containerName);
    expect(JSON.stringify(inputsOf("a-container").envs)).not.toContain("ZAPIER_OUTBOUND_URLS");
    expect(JSON.stringify(inputsOf("a-secrets-writer").uploads)).not.toContain("zapier_outbound_urls");
  });

  it("replaces both containers when the base image changes, through a new tag", () => {
    const tag = apiImageTag("a".repeat(64), "node:22-bookworm-slim");
    expect(tag).toMatch(/^[0-9a-f]{32}$/);
    expect(apiImageTag("a".repeat(64), "node:22-bookworm-slim@sha256:" + "b".repeat(64))).not.toBe(tag);
    expect(apiImageTag("c".repeat(64), "node:22-bookworm-slim")).not.toBe(tag);
  });
});

describe("ReverseProxy", () => {
  const caddyfile: CaddyfileInput = {
    apiHost: "krc.localhost",
    kioskHost: "kiosk.localhost",
    tls: "internal",
    hstsPreload: false,
    publicHttpsPort: 8443,
    upstream: "krc-t-api:8080",
    maxBodyBytes: 1024,
  };

  it("uploads the rendered Caddyfile onto its /etc/caddy volume and keeps state on named volumes", async () => {
    const api = new pulumi.ComponentResource("krc:test:Api", "api");
    const proxy = new ReverseProxy(
      "p",
      { stack: "t", image: "caddy:2", externalNetwork: "krc-t-external", caddyfile, bindAddress: "127.0.0.1", httpPort: 8080, httpsPort: 8443, after: [api] },
      recorded(),
    );
    await valueOf(proxy.containerName);
    const inputs = inputsOf("p-container");
    expect(inputsOf("p-etc-writer").uploads).toEqual([
      { file: "/etc/caddy/Caddyfile", content: renderCaddyfile(caddyfile), owner: "0", group: "0", permissions: "0400" },
    ]);
    expect(mocks.resources.find((r) => r.name === "p-etc-writer")?.secretFields).toEqual([]);
    expect(inputs.mounts).toEqual([
      { type: "volume", source: "krc-t-caddy-data", target: "/data" },
      { type: "volume", source: "krc-t-caddy-config", target: "/config" },
      { type: "volume", source: "krc-t-caddy-etc", target: "/etc/caddy", readOnly: true },
    ]);
    expect(inputs.healthcheck).toMatchObject({ tests: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:2020/healthz"] });
    expect(optionsOf("p-container")).toMatchObject({ dependsOn: [api], deleteBeforeReplace: true });
  });

  it("throws before creating anything when the Caddyfile input is invalid", () => {
    expect(
      () =>
        new ReverseProxy("p", {
          stack: "t",
          image: "caddy:2",
          externalNetwork: "krc-t-external",
          caddyfile: { ...caddyfile, upstream: "not a host" },
          bindAddress: "127.0.0.1",
          httpPort: 8080,
          httpsPort: 8443,
        }),
    ).toThrow("renderCaddyfile: upstream");
  });
});
