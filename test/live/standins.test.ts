import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The stand-in images (images/build.sh) must behave like the official images the stack is written
 * for, under the same hardening the stack applies. Each check runs the real image on the engine.
 */

const STACK = "standin-test";
const LABEL = `krc.stack=${STACK}`;
const POSTGRES = "krc-standin/postgres:15";
const CADDY = "krc-standin/caddy:2";
const NODE = "krc-standin/node:20";
const DEBIAN = "krc-standin/debian:bookworm";
const run = randomBytes(3).toString("hex");

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the docker CLI; a non-zero exit is returned, not thrown, so tests can assert on failures. */
function docker(args: string[], timeoutMs = 120_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile("docker", args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") {
        reject(error);
        return;
      }
      resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
    });
  });
}

/** Like `docker` but a failure is an error carrying the command's stderr. */
async function dockerOk(args: string[], timeoutMs?: number): Promise<string> {
  const result = await docker(args, timeoutMs);
  if (result.code !== 0) {
    throw new Error(`docker ${args[0] ?? ""} failed (${result.code}): ${result.stderr.trim()}`);
  }
  return result.stdout.trim();
}

async function removeLeftovers(): Promise<void> {
  const filter = ["--filter", `label=${LABEL}`];
  const containers = (await dockerOk(["ps", "-aq", ...filter])).split("\n").filter(Boolean);
  if (containers.length > 0) await dockerOk(["rm", "-f", "-v", ...containers]);
  const volumes = (await dockerOk(["volume", "ls", "-q", ...filter])).split("\n").filter(Boolean);
  if (volumes.length > 0) await dockerOk(["volume", "rm", "-f", ...volumes]);
  const networks = (await dockerOk(["network", "ls", "-q", ...filter])).split("\n").filter(Boolean);
  if (networks.length > 0) await dockerOk(["network", "rm", ...networks]);
}

/**
 * Copies one file into a created container as a tar stream whose entry is owned by `uid` with
 * mode 0400, the way the stack's uploads deliver secrets (`docker cp -a` cannot resolve a numeric
 * `--user` on this engine).
 */
async function uploadFile(container: string, directory: string, name: string, content: string, uid: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "krc-standin-test-"));
  try {
    writeFileSync(join(dir, name), content, { mode: 0o400 });
    chmodSync(join(dir, name), 0o400);
    await new Promise<void>((resolve, reject) => {
      execFile(
        "sh",
        ["-c", 'tar -C "$1" --numeric-owner --owner="$2" --group="$2" -c "$3" | docker cp - "$4:$5"', "sh", dir, String(uid), name, container, directory],
        (error, _stdout, stderr) => (error ? reject(new Error(`upload of ${name} failed: ${stderr.trim()}`)) : resolve()),
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Polls until `pg_isready` over TCP succeeds in the container, or fails with the container's log.
 * TCP, not the socket: the entrypoint's setup server already answers on the socket while the
 * init scripts still run.
 */
async function waitForPostgres(container: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await docker(["exec", container, "pg_isready", "-q", "-h", "127.0.0.1"])).code === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const logs = await docker(["logs", "--tail", "30", container]);
  throw new Error(`${container} never became ready:\n${logs.stdout}${logs.stderr}`);
}

/** Hardening flags the stack gives the database container. */
function hardenedDb(name: string, network: string, data: string, secrets: string): string[] {
  return [
    "--label", LABEL, "--name", name, "--network", network, "--network-alias", "db",
    "--user", "999:999", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true",
    "--tmpfs", "/run/postgresql:uid=999,gid=999", "--tmpfs", "/tmp",
    "-v", `${data}:/var/lib/postgresql/data`, "-v", `${secrets}:/run/secrets`,
  ];
}

/** psql from a second container on the network, as a client of the db would connect. */
function psqlFromPeer(network: string, secrets: string, passwordExpr: string, user: string, sql: string): Promise<Result> {
  return docker([
    "run", "--rm", "--label", LABEL, "--network", network, "--user", "999:999", "--read-only",
    "-v", `${secrets}:/run/secrets:ro`, POSTGRES,
    "sh", "-c", `PGPASSWORD="${passwordExpr}" psql -h db -U "$1" -d postgres -tAc "$2"`, "sh", user, sql,
  ]);
}

beforeAll(async () => {
  for (const image of [DEBIAN, POSTGRES, CADDY, NODE]) {
    const found = await docker(["image", "inspect", image]);
    if (found.code !== 0) throw new Error(`${image} is missing: run images/build.sh first`);
  }
  await removeLeftovers();
});

afterAll(async () => {
  await removeLeftovers();
});

describe("stand-in images", () => {
  it("carries krc.standin=true when built by images/build.sh", async () => {
    for (const image of [DEBIAN, POSTGRES, CADDY, NODE]) {
      const label = await dockerOk(["image", "inspect", "--format", '{{ index .Config.Labels "krc.standin" }}', image]);
      expect(label, image).toBe("true");
    }
  });
});

describe("postgres stand-in", () => {
  it("declares the official image's interface when inspected", async () => {
    const config = JSON.parse(await dockerOk(["image", "inspect", "--format", "{{json .Config}}", POSTGRES])) as {
      Env: string[]; Entrypoint: string[]; Cmd: string[]; StopSignal: string; Volumes: Record<string, object>;
    };
    expect(config.Entrypoint).toEqual(["docker-entrypoint.sh"]);
    expect(config.Cmd).toEqual(["postgres"]);
    expect(config.StopSignal).toBe("SIGINT");
    expect(Object.keys(config.Volumes)).toEqual(["/var/lib/postgresql/data"]);
    expect(config.Env).toContain("PGDATA=/var/lib/postgresql/data");
    expect(config.Env.find((e) => e.startsWith("PATH="))).toContain("/usr/lib/postgresql/15/bin");
    const layout = await dockerOk([
      "run", "--rm", "--label", LABEL, "--entrypoint", "sh", POSTGRES, "-c",
      "id -u postgres; id -g postgres; stat -c '%a %U' /run/postgresql /var/lib/postgresql/data; readlink /var/run",
    ]);
    expect(layout.split("\n")).toEqual(["999", "999", "3777 postgres", "1777 postgres", "/run"]);
  });

  it("initializes from POSTGRES_PASSWORD_FILE and serves when run as 999:999 on a read-only root", async () => {
    const network = `krc-standin-test-${run}-net`;
    const data = `krc-standin-test-${run}-data`;
    const secrets = `krc-standin-test-${run}-secrets`;
    const db = `krc-standin-test-${run}-db`;
    const password = randomBytes(24).toString("base64url");
    await dockerOk(["network", "create", "--internal", "--label", LABEL, network]);
    await dockerOk(["volume", "create", "--label", LABEL, data]);
    await dockerOk(["volume", "create", "--label", LABEL, secrets]);
    await dockerOk([
      "create", ...hardenedDb(db, network, data, secrets),
      "-e", "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password", POSTGRES,
    ]);
    await uploadFile(db, "/run/secrets", "postgres_password", password, 999);
    await dockerOk(["start", db]);
    await waitForPostgres(db);

    expect((await docker(["exec", db, "pg_isready", "-h", "127.0.0.1"])).code).toBe(0);
    expect(await dockerOk(["exec", db, "stat", "-c", "%a %u", "/var/lib/postgresql/data", "/proc/1"])).toBe("700 999\n555 999");
    const env = await dockerOk(["inspect", "--format", "{{json .Config.Env}}", db]);
    expect(env).not.toContain(password);

    const right = await psqlFromPeer(network, secrets, "$(cat /run/secrets/postgres_password)", "postgres", "select current_user");
    expect(right.stdout.trim()).toBe("postgres");
    const wrong = await psqlFromPeer(network, secrets, "not-the-password", "postgres", "select 1");
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain("password authentication failed");
  });

  it("ignores POSTGRES_* settings when the data directory is already initialized", async () => {
    const network = `krc-standin-test-${run}-net`;
    const data = `krc-standin-test-${run}-data`;
    const secrets = `krc-standin-test-${run}-secrets`;
    await dockerOk(["rm", "-f", `krc-standin-test-${run}-db`]);
    const db = `krc-standin-test-${run}-db2`;
    await dockerOk([
      "run", "-d", ...hardenedDb(db, network, data, secrets),
      "-e", "POSTGRES_USER=intruder", "-e", "POSTGRES_PASSWORD=intruder-password", "-e", "POSTGRES_DB=intruder", POSTGRES,
    ]);
    await waitForPostgres(db);

    const logs = await docker(["logs", db]);
    expect(logs.stdout).toContain("Skipping initialization");
    const roles = await psqlFromPeer(network, secrets, "$(cat /run/secrets/postgres_password)", "postgres",
      "select string_agg(rolname, ',' order by rolname) from pg_roles where rolname in ('intruder', 'postgres')");
    expect(roles.stdout.trim()).toBe("postgres");
  });

  it("steps down to postgres and runs /docker-entrypoint-initdb.d scripts when started as root", async () => {
    const db = `krc-standin-test-${run}-root`;
    const password = randomBytes(24).toString("base64url");
    await dockerOk(["create", "--label", LABEL, "--name", db, "-e", "POSTGRES_PASSWORD_FILE=/tmp/postgres_password",
      "-e", "POSTGRES_USER=boss", "-e", "POSTGRES_DB=appdb", POSTGRES]);
    await uploadFile(db, "/tmp", "postgres_password", password, 0);
    await uploadFile(db, "/docker-entrypoint-initdb.d", "01-marker.sql", "create table marker (id int); insert into marker values (42);\n", 999);
    await uploadFile(db, "/docker-entrypoint-initdb.d", "02-whoami.sh", 'echo "init script ran as uid $(id -u)"\n', 999);
    await dockerOk(["start", db]);
    await waitForPostgres(db);

    const logs = await docker(["logs", db]);
    expect(logs.stdout).toContain("running /docker-entrypoint-initdb.d/01-marker.sql");
    expect(logs.stdout).toContain("init script ran as uid 999");
    expect(await dockerOk(["exec", db, "psql", "-U", "boss", "-d", "appdb", "-tAc", "select id from marker"])).toBe("42");
    expect(await dockerOk(["exec", db, "stat", "-c", "%u", "/proc/1"])).toBe("999");
  });

  it("refuses to initialize when no superuser password is given", async () => {
    const result = await docker(["run", "--rm", "--label", LABEL, "--user", "999:999", "--read-only",
      "--tmpfs", "/run/postgresql:uid=999,gid=999", "--tmpfs", "/tmp", "--tmpfs", "/var/lib/postgresql/data:uid=999,gid=999", POSTGRES]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("superuser password is not specified");
  });
});

describe("caddy stand-in", () => {
  it("cannot exec caddy when every capability is dropped", async () => {
    const result = await docker(["run", "--rm", "--label", LABEL, "--cap-drop", "ALL", CADDY, "caddy", "version"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("operation not permitted");
  });

  it("runs caddy when NET_BIND_SERVICE is added back", async () => {
    const result = await dockerOk(["run", "--rm", "--label", LABEL, "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE",
      "--security-opt", "no-new-privileges:true", CADDY, "caddy", "version"]);
    expect(result).toMatch(/^v?2\.6\./);
  });

  it("serves its default Caddyfile on :80 as root with only NET_BIND_SERVICE on a read-only root", async () => {
    const proxy = `krc-standin-test-${run}-caddy`;
    await dockerOk(["run", "-d", "--label", LABEL, "--name", proxy, "--read-only", "--cap-drop", "ALL",
      "--cap-add", "NET_BIND_SERVICE", "--security-opt", "no-new-privileges:true",
      "--tmpfs", "/config", "--tmpfs", "/data", CADDY]);
    const deadline = Date.now() + 30_000;
    let page: Result = await docker(["exec", proxy, "wget", "-qO-", "http://127.0.0.1:80/"]);
    while (page.code !== 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      page = await docker(["exec", proxy, "wget", "-qO-", "http://127.0.0.1:80/"]);
    }
    expect(page.stdout).toContain("Caddy works!");
    expect(await dockerOk(["exec", proxy, "stat", "-c", "%u", "/proc/1"])).toBe("0");
    const admin = await dockerOk(["exec", proxy, "wget", "-qO-", "http://127.0.0.1:2019/config/"]);
    expect(JSON.parse(admin)).toHaveProperty("apps.http");
  });

  it("declares the official image's interface when inspected", async () => {
    const config = JSON.parse(await dockerOk(["image", "inspect", "--format", "{{json .Config}}", CADDY])) as {
      Env: string[]; Cmd: string[]; ExposedPorts: Record<string, object>; User?: string; WorkingDir: string;
    };
    expect(config.Cmd).toEqual(["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]);
    expect(config.Env).toEqual(expect.arrayContaining(["XDG_CONFIG_HOME=/config", "XDG_DATA_HOME=/data"]));
    expect(Object.keys(config.ExposedPorts).sort()).toEqual(["2019/tcp", "443/tcp", "443/udp", "80/tcp"]);
    // No USER: caddy runs as root, like the official image.
    expect(config.User ?? "").toBe("");
    expect(config.WorkingDir).toBe("/srv");
    const files = await dockerOk(["run", "--rm", "--label", LABEL, CADDY, "sh", "-c",
      "getcap /usr/bin/caddy; test -s /etc/ssl/certs/ca-certificates.crt && echo ca; test -d /config/caddy && test -d /data/caddy && echo dirs"]);
    expect(files.split("\n")).toEqual(["/usr/bin/caddy cap_net_bind_service=ep", "ca", "dirs"]);
  });
});

describe("node stand-in", () => {
  it("runs node 20 as node (1000:1000) from /usr/local/bin on a read-only root", async () => {
    const out = await dockerOk(["run", "--rm", "--label", LABEL, "--read-only", "--user", "1000:1000", "--cap-drop", "ALL",
      "--security-opt", "no-new-privileges:true", NODE,
      "node", "-e", "const os = require('os'); console.log([process.version, process.execPath, os.userInfo().username, os.homedir()].join(' '))"]);
    expect(out).toMatch(/^v20\.\d+\.\d+ \/usr\/local\/bin\/node node \/home\/node$/);
  });

  it("passes flags to node when the command is not a program", async () => {
    expect(await dockerOk(["run", "--rm", "--label", LABEL, NODE, "-p", "6 * 7"])).toBe("42");
  });

  it("has the user node with uid and gid 1000 and CA certificates", async () => {
    const out = await dockerOk(["run", "--rm", "--label", LABEL, NODE, "sh", "-c",
      "id -u node; id -g node; test -s /etc/ssl/certs/ca-certificates.crt && echo ca"]);
    expect(out.split("\n")).toEqual(["1000", "1000", "ca"]);
  });
});
