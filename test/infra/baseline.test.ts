import { describe, expect, it } from "vitest";
import { hardenedContainer, type BaselineInput } from "../../infra/baseline";

const SERVICE: BaselineInput = {
  stack: "t",
  service: "api",
  name: "krc-t-api",
  image: "krc-api:abc",
  user: "1000:1000",
  memoryMb: 256,
  cpuShares: 512,
  tmpfs: { "/tmp": { sizeMb: 16 }, "/run/app": { sizeMb: 1, uid: 1000, gid: 1000 } },
  lifecycle: {
    kind: "service",
    health: { command: ["node", "/app/healthcheck.js"], intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 20 },
    waitTimeoutSeconds: 120,
  },
};

describe("hardenedContainer", () => {
  it("returns the full hardened baseline when the container is a service", () => {
    expect(hardenedContainer(SERVICE)).toEqual({
      name: "krc-t-api",
      image: "krc-api:abc",
      user: "1000:1000",
      readOnly: true,
      privileged: false,
      securityOpts: ["no-new-privileges:true"],
      capabilities: { drops: ["ALL"], adds: [] },
      memory: 256,
      cpuShares: 512,
      restart: "unless-stopped",
      logDriver: "json-file",
      logOpts: { "max-size": "10m", "max-file": "3" },
      labels: [
        { label: "krc.project", value: "krc" },
        { label: "krc.service", value: "api" },
        { label: "krc.stack", value: "t" },
      ],
      tmpfs: { "/tmp": "rw,noexec,nosuid,nodev,size=16m", "/run/app": "rw,noexec,nosuid,nodev,size=1m,uid=1000,gid=1000" },
      destroyGraceSeconds: 10,
      healthcheck: { tests: ["CMD", "node", "/app/healthcheck.js"], interval: "10s", timeout: "5s", retries: 3, startPeriod: "20s" },
      wait: true,
      waitTimeout: 120,
    });
  });

  it("attaches without healthcheck or restarts when the container is a one-shot job", () => {
    const args = hardenedContainer({ ...SERVICE, service: "migrate", lifecycle: { kind: "oneShot" } });
    expect(args).toMatchObject({ restart: "no", attach: true, logs: true, mustRun: false, readOnly: true });
    expect(args.healthcheck).toBeUndefined();
    expect(args.wait).toBeUndefined();
  });

  it("adds back only the capabilities it is given", () => {
    const args = hardenedContainer({ ...SERVICE, capAdd: [{ name: "NET_BIND_SERVICE", why: "ports 80 and 443" }] });
    expect(args.capabilities).toEqual({ drops: ["ALL"], adds: ["NET_BIND_SERVICE"] });
  });

  it.each(["node", "1000", "root:root", ""])("throws when the user is %j instead of a numeric uid:gid", (user) => {
    expect(() => hardenedContainer({ ...SERVICE, user })).toThrow(`container krc-t-api: user must be numeric uid:gid, got "${user}"`);
  });
});
