import { describe, expect, it } from "vitest";
import { containerMaterializer, createBody } from "../support/harness/providers/docker/container";
import { parseGoDuration } from "../support/harness/providers/docker/duration";
import { demuxLogs } from "../support/harness/providers/docker/logs";
import { tarFile, untarFirst } from "../support/harness/providers/docker/tar";

describe("createBody", () => {
  it("sends the Engine API what the docker provider sends for the hardened inputs", () => {
    const body = createBody("krc-t-api", {
      image: "img",
      user: "1000:1000",
      memory: 256,
      memorySwap: 512,
      cpuShares: 512,
      readOnly: true,
      securityOpts: ["no-new-privileges:true"],
      capabilities: { drops: ["ALL"], adds: ["NET_BIND_SERVICE"] },
      restart: "unless-stopped",
      logOpts: { "max-size": "10m" },
      tmpfs: { "/tmp": "rw,size=16m" },
      ports: [{ internal: 443, external: 8443, ip: "127.0.0.1" }, { internal: 53, protocol: "udp" }],
      healthcheck: { tests: ["CMD", "true"], interval: "10s", timeout: "1m30s", startPeriod: "500ms", retries: 3 },
      labels: [{ label: "krc.stack", value: "t" }],
      envs: ["A=1"],
      mounts: [{ type: "volume", source: "v", target: "/data", readOnly: true }],
    });
    expect(body).toMatchObject({
      name: "krc-t-api",
      User: "1000:1000",
      Env: ["A=1"],
      Labels: { "krc.stack": "t" },
      ExposedPorts: { "443/tcp": {}, "53/udp": {} },
      Healthcheck: { Test: ["CMD", "true"], Interval: 10e9, Timeout: 90e9, StartPeriod: 500e6, Retries: 3 },
      HostConfig: {
        Memory: 256 * 1024 * 1024,
        MemorySwap: 512 * 1024 * 1024,
        CpuShares: 512,
        ReadonlyRootfs: true,
        SecurityOpt: ["no-new-privileges:true"],
        CapDrop: ["ALL"],
        CapAdd: ["NET_BIND_SERVICE"],
        RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
        LogConfig: { Type: "json-file", Config: { "max-size": "10m" } },
        Tmpfs: { "/tmp": "rw,size=16m" },
        PortBindings: { "443/tcp": [{ HostIp: "127.0.0.1", HostPort: "8443" }], "53/udp": [{ HostIp: "0.0.0.0", HostPort: "" }] },
        Mounts: [{ Type: "volume", Source: "v", Target: "/data", ReadOnly: true }],
        Init: false,
        Privileged: false,
      },
    });
  });

  it("defaults the restart policy to no and the log driver to json-file", () => {
    expect(createBody("c", { image: "i" }).HostConfig).toMatchObject({ RestartPolicy: { Name: "no" }, LogConfig: { Type: "json-file" }, AutoRemove: false });
  });

  it("refuses an empty command element, as the provider does", () => {
    expect(() => createBody("c", { image: "i", command: ["node", ""] })).toThrow("values for command may not be empty");
  });

  it("refuses a healthcheck duration that is not a Go duration", () => {
    expect(() => createBody("c", { image: "i", healthcheck: { tests: ["CMD", "true"], interval: "10" } })).toThrow(
      'harness: docker:index/container:Container input "healthcheck.interval" is not a duration: "10"',
    );
  });
});

describe("container materializer strictness", () => {
  const m = containerMaterializer((s) => s);

  it("refuses a nested field it does not implement", () => {
    expect(() => m.validate?.({ image: "i", uploads: [{ file: "/a", content: "x", mode: "0400" }] })).toThrow(
      'harness: docker:index/container:Container input "uploads.mode" is not implemented',
    );
  });

  it("updates in place only what the provider's ContainerUpdate covers", () => {
    expect([...m.updatable].filter((f) => !["mustRun", "destroyGraceSeconds", "removeVolumes", "wait", "waitTimeout", "containerReadRefreshTimeoutMilliseconds"].includes(f)).sort()).toEqual(
      ["cpuSet", "cpuShares", "maxRetryCount", "memory", "memorySwap", "restart"],
    );
  });
});

describe("parseGoDuration", () => {
  it.each([
    ["0", 0],
    ["10s", 10e9],
    ["1m30s", 90e9],
    ["1.5s", 1.5e9],
    ["250ms", 250e6],
    ["2h", 7200e9],
  ])("reads %s as %d ns", (text, ns) => {
    expect(parseGoDuration(text)).toBe(ns);
  });

  it.each(["10", "s", "1x", "-1s", ""])("rejects %j", (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe("tar and logs", () => {
  it("round-trips a file through the one-file archive with its owner and mode", () => {
    const archive = tarFile("/run/secrets/key", Buffer.from("value\n"), 0o400, 999, 998);
    expect(archive.length % 512).toBe(0);
    expect(archive.subarray(0, 15).toString()).toBe("run/secrets/key");
    expect(archive.subarray(100, 107).toString()).toBe("0000400");
    expect(archive.subarray(108, 115).toString()).toBe("0001747");
    expect(untarFirst(archive).toString()).toBe("value\n");
  });

  it("strips the Engine API's stream frame headers", () => {
    const frame = (stream: number, text: string): Buffer => {
      const h = Buffer.alloc(8);
      h[0] = stream;
      h.writeUInt32BE(Buffer.byteLength(text), 4);
      return Buffer.concat([h, Buffer.from(text)]);
    };
    expect(demuxLogs(Buffer.concat([frame(1, "out\n"), frame(2, "err\n")]))).toBe("out\nerr\n");
  });
});
