import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replaceUpstream } from "../../bench/api/baseline";
import { clientBody } from "../../bench/api/session";
import { hardeningFlags, type ContainerInfo } from "../../bench/lib/dockerObjects";
import { runLoad, type Endpoint } from "../../bench/lib/load";
import { loadStack } from "../../bench/lib/stack";
import { liveUpOverrides } from "../../bench/sections/deploy";
import { findBase } from "../../bench/sections/footprint";
import { sourceAddress } from "../../bench/sections/login";

describe("replaceUpstream", () => {
  it("points the single reverse_proxy at the baseline server when the Caddyfile has one", () => {
    const caddyfile = "krc.localhost {\n\treverse_proxy krc-dev-api:8080 {\n\t\theader_up -Forwarded\n\t}\n}\n";
    expect(replaceUpstream(caddyfile, "krc-bench-echo:8080")).toBe("krc.localhost {\n\treverse_proxy krc-bench-echo:8080 {\n\t\theader_up -Forwarded\n\t}\n}\n");
  });

  it.each([
    ["no", "krc.localhost {\n\trespond 200\n}\n", 0],
    ["two", "a {\n\treverse_proxy x:1\n}\nb {\n\treverse_proxy y:2\n}\n", 2],
  ])("throws when the Caddyfile has %s reverse_proxy lines", (_, caddyfile, count) => {
    expect(() => replaceUpstream(caddyfile, "z:3")).toThrow(`expected exactly one reverse_proxy line in the deployed Caddyfile, found ${count}`);
  });
});

describe("findBase", () => {
  const image = (id: string, layers: string[]) => ({ Id: id, Size: 1, RepoTags: [id], RootFS: { Layers: layers } });

  it("picks the image whose layers are the longest proper prefix when several are prefixes", () => {
    const api = image("api", ["a", "b", "c", "d"]);
    const debian = image("debian", ["a"]);
    const node = image("node", ["a", "b"]);
    const other = image("other", ["a", "x", "y"]);
    expect(findBase(api, [debian, node, other, api])?.Id).toBe("node");
  });

  it("returns undefined when no other image is a prefix", () => {
    expect(findBase(image("api", ["a", "b"]), [image("x", ["z"]), image("y", ["a", "b"])])).toBeUndefined();
  });
});

describe("liveUpOverrides", () => {
  it("returns every --set of the live:up script when package.json has one", () => {
    const pkg = JSON.stringify({ scripts: { "live:up": "tsx cli.ts up --stack dev --set krc:a=1 --set krc:b=x --stack-json .live/stack.json" } });
    expect(liveUpOverrides(pkg)).toEqual(["krc:a=1", "krc:b=x"]);
  });

  it("throws when package.json has no live:up script", () => {
    expect(() => liveUpOverrides("{}")).toThrow('package.json has no "live:up" script');
  });
});

describe("sourceAddress", () => {
  it("gives each request its own loopback address when counting up", () => {
    expect([0, 1, 254, 255, 256].map(sourceAddress)).toEqual(["127.77.0.1", "127.77.0.2", "127.77.0.255", "127.77.1.0", "127.77.1.1"]);
    expect(new Set(Array.from({ length: 5000 }, (_, n) => sourceAddress(n))).size).toBe(5000);
  });

  it("throws when the addresses run out", () => {
    expect(() => sourceAddress(65_534)).toThrow("more requests than distinct");
  });
});

describe("clientBody", () => {
  it("makes a body the API's schema accepts (10-digit phone) and unique per n", () => {
    const a = JSON.parse(clientBody("r1", 7)) as { name: string; phone: string; email: string };
    expect(a.phone).toMatch(/^[0-9]{10}$/);
    expect(a).toEqual({ name: "bench r1 client 7", phone: "5550000007", email: "bench-r1-7@example.com" });
    expect(clientBody("r1", 8)).not.toBe(clientBody("r1", 7));
  });
});

describe("hardeningFlags", () => {
  it("copies user, capabilities, no-new-privileges, read-only root, tmpfs and limits when the container has them", () => {
    const info = {
      Config: { User: "1000:1000" },
      HostConfig: { CapAdd: ["NET_BIND_SERVICE"], CapDrop: ["ALL"], SecurityOpt: ["no-new-privileges:true"], ReadonlyRootfs: true, Tmpfs: { "/tmp": "rw,noexec,size=16m" }, Memory: 268435456, CpuShares: 512, PidsLimit: 128 },
    } as unknown as ContainerInfo;
    expect(hardeningFlags(info)).toEqual([
      "--user", "1000:1000", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "--security-opt", "no-new-privileges:true",
      "--read-only", "--tmpfs", "/tmp:rw,noexec,size=16m", "--memory", "268435456", "--cpu-shares", "512", "--pids-limit", "128",
    ]);
  });
});

describe("loadStack", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "krc-bench-test-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("tells to run live:up when stack.json does not exist", () => {
    expect(() => loadStack(join(dir, "missing.json"))).toThrow(/does not exist: the live stack is not up\. Deploy it first with `npm run live:up`/);
  });

  it("names the missing fields when stack.json is incomplete", () => {
    const path = join(dir, "partial.json");
    writeFileSync(path, JSON.stringify({ stack: "dev", url: "https://krc.localhost:8443" }));
    expect(() => loadStack(path)).toThrow(/lacks what the benchmarks need \(caCert: .*adminEmail: /);
  });

  it("refuses a stack.json whose certificate files are gone", () => {
    const path = join(dir, "nofiles.json");
    const stack = {
      stack: "dev", url: "https://krc.localhost:8443", caCert: join(dir, "gone.crt"), adminEmail: "a@b.c", adminPassword: "x", containers: ["krc-dev-api"],
      postgres: { host: "172.20.0.2", port: 5432, database: "krc", caCert: join(dir, "gone.crt"), roles: { app: { user: "krc_app", password: "p" } } },
    };
    writeFileSync(path, JSON.stringify(stack));
    expect(() => loadStack(path)).toThrow(`points to ${join(dir, "gone.crt")}, which does not exist`);
  });
});

describe("runLoad", () => {
  let dir: string;
  let server: Server;
  let port: number;
  let ca: string;
  let otherCa: string;
  let seen = 0;

  /** A CA and a server certificate for krc.localhost signed by it, made with openssl. */
  function makeCa(name: string): { caPem: string; certPem: string; keyPem: string } {
    const f = (n: string) => join(dir, `${name}-${n}`);
    const ossl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.crt"), "-days", "1", "-subj", `/CN=${name} test CA`);
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("srv.key"), "-out", f("srv.csr"), "-subj", "/CN=krc.localhost");
    writeFileSync(f("ext"), "subjectAltName=DNS:krc.localhost\n");
    ossl("x509", "-req", "-in", f("srv.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("srv.crt"), "-days", "1", "-extfile", f("ext"));
    return { caPem: readFileSync(f("ca.crt"), "utf8"), certPem: readFileSync(f("srv.crt"), "utf8"), keyPem: readFileSync(f("srv.key"), "utf8") };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "krc-bench-tls-"));
    const good = makeCa("good");
    ca = good.caPem;
    otherCa = makeCa("other").caPem;
    server = createServer({ cert: good.certPem, key: good.keyPem }, (req, res) => {
      seen += 1;
      res.writeHead(req.headers.host === "krc.localhost:443" ? 200 : 418, { "content-type": "application/json" });
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const endpoint = (trusted: string): Endpoint => ({ port, host: "krc.localhost", hostHeader: "krc.localhost:443", ca: trusted });
  const options = { connections: 4, durationMs: 20_000, warmupMs: 0, expectStatus: 200, request: () => ({ method: "GET" as const, path: "/healthz" }) };

  it("stops at the request bound and counts no error when the server's certificate chains to the given CA", async () => {
    const result = await runLoad(endpoint(ca), { ...options, maxRequests: 40 });
    expect(result.requests).toBe(40);
    expect(result.errors).toBe(0);
    expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
  });

  it("refuses every connection when the server's certificate is not from the trusted CA", async () => {
    const before = seen;
    await expect(runLoad(endpoint(otherCa), { ...options, durationMs: 300, maxRequests: 10 })).rejects.toThrow("no request completed");
    expect(seen).toBe(before);
  });

  it("throws when the Host header names another server than the certificate's", async () => {
    await expect(runLoad({ ...endpoint(ca), hostHeader: "elsewhere.localhost" }, { ...options, maxRequests: 1 })).rejects.toThrow("the Host header elsewhere.localhost must name the server krc.localhost");
  });

  it("counts responses with another status as errors when they arrive", async () => {
    const result = await runLoad({ ...endpoint(ca), hostHeader: "krc.localhost:444" }, { ...options, maxRequests: 8 });
    expect(result.errors).toBe(8);
    expect(result.errorSamples[0]).toContain("-> 418");
  });
});
