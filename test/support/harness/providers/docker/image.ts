/**
 * docker.Image (the native build resource) built on the local engine with the classic builder:
 * BuildKit needs buildx, which this engine's packages lack. Nothing is pushed: there is no
 * registry, so the program must set `skipPush: true`, or the build fails as the push would.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import type { Materializer, Props } from "../../types";
import { checkFields, docker, isNotFound } from "./engine";

const TYPE = "docker:index/image:Image";
const BUILD_FIELDS = ["context", "dockerfile", "args", "platform", "target", "network", "builderVersion"];

interface Build {
  context?: string;
  dockerfile?: string;
  args?: Record<string, string>;
  platform?: string;
  target?: string;
  network?: string;
  builderVersion?: string;
}

function paths(inputs: Props): { context: string; dockerfile: string } {
  const build = (inputs["build"] ?? {}) as Build;
  const context = resolve(build.context ?? ".");
  // Like the provider: the Dockerfile defaults to <context>/Dockerfile; a relative path is the program's.
  const dockerfile = build.dockerfile === undefined ? join(context, "Dockerfile") : resolve(build.dockerfile);
  return { context, dockerfile };
}

/** Hashes every file under `dir` (path and content), as the provider hashes the build context. */
function hashTree(dir: string, hash: ReturnType<typeof createHash>, root: string): void {
  for (const entry of readdirSync(dir).sort()) {
    const p = join(dir, entry);
    const st = statSync(p);
    if (st.isDirectory()) hashTree(p, hash, root);
    else {
      hash.update(`${relative(root, p)}\0${st.mode & 0o111 ? "x" : "-"}\0`);
      hash.update(readFileSync(p));
    }
  }
}

function run(cmd: string, args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { env: { ...process.env, DOCKER_BUILDKIT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code: code ?? 1, output }));
  });
}

/**
 * The images a Dockerfile builds FROM, with `${ARG}`/`$ARG` taken from the build args, then from
 * the ARG defaults declared before the first FROM (the only ARGs a FROM line can see). Skips
 * `scratch` and earlier stages named with `AS`.
 * @throws Error naming the ARG when a FROM uses one that has no value.
 */
export function baseImages(dockerfile: string, args: Readonly<Record<string, string>> = {}): string[] {
  const defaults: Record<string, string> = {};
  const stages = new Set<string>();
  const bases: string[] = [];
  let seenFrom = false;
  // Joined continuation lines, comments dropped: one instruction per entry.
  const instructions = dockerfile
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  for (const line of instructions) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    if (keyword.toUpperCase() === "ARG" && !seenFrom) {
      const [name = "", value] = (rest[0] ?? "").split(/=(.*)/s);
      if (value !== undefined) defaults[name] = value.replace(/^"(.*)"$/s, "$1");
    }
    if (keyword.toUpperCase() !== "FROM") continue;
    seenFrom = true;
    const words = rest.filter((w) => !w.startsWith("--"));
    const ref = (words[0] ?? "").replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a: string | undefined, b: string | undefined) => {
      const name = (a ?? b) as string;
      const value = args[name] ?? defaults[name];
      if (value === undefined || value === "") throw new Error(`harness: ${TYPE}: FROM uses build arg ${name}, which has no value`);
      return value;
    });
    if (words[1]?.toUpperCase() === "AS" && words[2] !== undefined) stages.add(words[2].toLowerCase());
    if (ref.toLowerCase() !== "scratch" && !stages.has(ref.toLowerCase()) && !bases.includes(ref)) bases.push(ref);
  }
  return bases;
}

/** Fails before `docker build` when a base image is not on the engine: the build would try a registry. */
async function requireLocalBases(imageName: string, dockerfile: string, args: Readonly<Record<string, string>>): Promise<void> {
  for (const base of baseImages(readFileSync(dockerfile, "utf8"), args)) {
    try {
      await docker.getImage(base).inspect();
    } catch (e) {
      if (!isNotFound(e)) throw e;
      throw new Error(`harness: ${TYPE}: base image "${base}" of ${imageName} is not on the local engine and no registry is reachable; build or load it first (docker images ${base})`);
    }
  }
}

async function build(inputs: Props, log: (line: string) => void): Promise<Props> {
  const imageName = inputs["imageName"] as string;
  if (inputs["skipPush"] !== true) {
    throw new Error(`harness: ${TYPE}: pushing "${imageName}" needs a registry and none is reachable; set skipPush: true`);
  }
  const b = (inputs["build"] ?? {}) as Build;
  const { context, dockerfile } = paths(inputs);
  if (!existsSync(context)) throw new Error(`harness: ${TYPE}: build context ${context} does not exist`);
  if (!existsSync(dockerfile)) throw new Error(`harness: ${TYPE}: Dockerfile ${dockerfile} does not exist`);
  await requireLocalBases(imageName, dockerfile, b.args ?? {});
  const dir = mkdtempSync(join(tmpdir(), "krc-image-"));
  const iidFile = join(dir, "iid");
  const args = ["build", "--iidfile", iidFile, "-f", dockerfile, "-t", imageName];
  for (const [k, v] of Object.entries(b.args ?? {})) args.push("--build-arg", `${k}=${v}`);
  if (b.platform) args.push("--platform", b.platform);
  if (b.target) args.push("--target", b.target);
  if (b.network) args.push("--network", b.network);
  args.push(context);
  log(`building ${imageName} from ${context} (classic builder)`);
  try {
    const { code, output } = await run("docker", args);
    if (code !== 0) throw new Error(`harness: ${TYPE}: docker build of ${imageName} failed:\n${output.split("\n").slice(-30).join("\n")}`);
    const imageId = readFileSync(iidFile, "utf8").trim();
    const info = (await docker.getImage(imageId).inspect()) as { Os: string; Architecture: string };
    return {
      ...inputs,
      imageName,
      baseImageName: imageName,
      context,
      dockerfile,
      platform: b.platform ?? `${info.Os}/${info.Architecture}`,
      registryServer: "",
      // For a local-only image the provider reports the image id here.
      repoDigest: imageId,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const image: Materializer = {
  type: TYPE,
  inputs: new Set(["imageName", "build", "skipPush", "buildOnPreview"]),
  // The provider rebuilds in place (a new image id) on any change.
  updatable: new Set(["imageName", "build", "skipPush", "buildOnPreview"]),
  validate(inputs) {
    checkFields(TYPE, "build", inputs["build"], BUILD_FIELDS);
    if (typeof inputs["imageName"] !== "string" || inputs["imageName"] === "") throw new Error(`harness: ${TYPE}: imageName is required`);
  },
  async fingerprint(inputs) {
    const { context, dockerfile } = paths(inputs);
    const hash = createHash("sha256");
    if (existsSync(context)) hashTree(context, hash, context);
    if (existsSync(dockerfile) && !(isAbsolute(relative(context, dockerfile)) || relative(context, dockerfile).startsWith(".."))) return hash.digest("hex");
    if (existsSync(dockerfile)) hash.update(readFileSync(dockerfile));
    return hash.digest("hex");
  },
  async create(ctx, inputs) {
    const outputs = await build(inputs, ctx.log);
    return { id: outputs["repoDigest"] as string, outputs };
  },
  async update(ctx, _id, _olds, news) {
    return build(news, ctx.log);
  },
  // Like the provider: @pulumi/docker 5's native Image provider (pulumi/pulumi-docker
  // provider/provider.go, dockerNativeProvider.Delete) returns without touching the engine, so the
  // built image stays on it. Removing it would also untag an image another stack with the same
  // content still runs (the tag is a content hash shared across stacks).
  async delete(ctx, _id, inputs) {
    ctx.log(`image ${String(inputs["imageName"])} left on the engine (the provider's delete removes nothing)`);
  },
};
