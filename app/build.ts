import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { build } from "esbuild";
import { LABEL_PROJECT, PROJECT } from "../infra/naming";

const REPO_ROOT = resolve(__dirname, "..");

/** Native packages kept out of the bundle and shipped as files: the loader and its linux-x64 glibc binary. */
const NATIVE_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  "@node-rs/argon2": ["package.json", "index.js", "LICENSE"],
  "@node-rs/argon2-linux-x64-gnu": ["package.json", "argon2.linux-x64-gnu.node"],
};

/**
 * The image recipe: no package manager at run time, no secret, root-owned read-only code, uid 1000.
 * Labels carry the OCI keys and `krc.project` (leftover images are found by label, as every Docker
 * object of the project); `revision` is the hash of the bundled files (there is
 * no VCS revision inside the context) and nothing time-dependent goes in, so the same sources give
 * the same Dockerfile and the same content hash. `source` is the path in this repository, as the
 * stand-in images label theirs (the project declares no repository URL); set here, it also replaces
 * the `images/` a stand-in base image would pass on.
 */
export function renderDockerfile(revision: string): string {
  if (!/^[0-9a-f]{64}$/.test(revision)) throw new Error(`revision must be a sha256 hex digest, got ${JSON.stringify(revision)}`);
  return `ARG BASE_IMAGE
FROM \${BASE_IMAGE}
ARG BASE_IMAGE
LABEL org.opencontainers.image.title="krc-api" \\
      org.opencontainers.image.description="krc CRM API (Express), bundled by app/build.ts" \\
      org.opencontainers.image.source="app/" \\
      org.opencontainers.image.vendor="krc" \\
      org.opencontainers.image.revision="${revision}" \\
      org.opencontainers.image.base.name="\${BASE_IMAGE}" \\
      ${LABEL_PROJECT}="${PROJECT}"
COPY --chown=root:root . /app
WORKDIR /app
USER 1000:1000
ENV NODE_ENV=production
EXPOSE 8080
CMD ["node", "/app/server.js"]
`;
}

/** Every file under `dir`, relative, sorted (a stable order for the content hash). */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current).sort()) {
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

/** sha256 over each file's relative path and bytes, in sorted order. */
export function hashDirectory(dir: string): string {
  const hash = createHash("sha256");
  for (const file of listFiles(dir)) {
    hash.update(file).update("\0").update(readFileSync(join(dir, file))).update("\0");
  }
  return hash.digest("hex");
}

/** Bumped when the cache stamp's meaning changes, so stamps written by older code never match. */
const STAMP_FORMAT = "krc-api-inputs-v1";

/**
 * Files outside `app/src` that decide the bundle: the lockfile pins every bundled package and
 * esbuild itself, esbuild reads tsconfig.json, this file holds the build options and the
 * Dockerfile, and infra/naming.ts the Dockerfile's project label.
 */
const INPUT_FILES = ["package-lock.json", "tsconfig.json", "app/build.ts", "infra/naming.ts"];

/**
 * sha256 of everything the bundle is built from: every file under `app/src`, INPUT_FILES and the
 * package.json (name and version) of each native package shipped beside the bundle. Reading these
 * is a few milliseconds, against a few hundred for esbuild.
 */
export function hashBuildInputs(root: string = REPO_ROOT): string {
  const hash = createHash("sha256").update(STAMP_FORMAT).update("\0");
  const sources = join(root, "app", "src");
  for (const file of listFiles(sources)) hash.update(`app/src/${file}`).update("\0").update(readFileSync(join(sources, file))).update("\0");
  for (const file of INPUT_FILES) {
    const path = join(root, file);
    // An absent file (a partial copy of the tree without a lockfile) is an input too.
    hash.update(file).update(existsSync(path) ? "\0+" : "\0-").update(existsSync(path) ? readFileSync(path) : "").update("\0");
  }
  for (const name of Object.keys(NATIVE_PACKAGES).sort()) {
    hash.update(name).update("\0").update(readFileSync(require.resolve(`${name}/package.json`, { paths: [root] }))).update("\0");
  }
  return hash.digest("hex");
}

/** What a previous build recorded: the inputs it was built from and the content hash it produced. */
interface BuildStamp {
  readonly inputHash: string;
  readonly contentHash: string;
}

/**
 * The stamp lives beside the context, not in it: inside, `COPY . /app` would ship it in the image
 * and the content hash (hence the image tag) would change with every input, even a comment.
 */
function stampPath(contextDir: string): string {
  return `${contextDir}.inputs.json`;
}

function readStamp(contextDir: string): BuildStamp | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(stampPath(contextDir), "utf8"));
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const { inputHash, contentHash } = parsed as Record<string, unknown>;
    return typeof inputHash === "string" && typeof contentHash === "string" ? { inputHash, contentHash } : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a unique temporary name and renamed, so a concurrent reader sees a whole stamp or none. */
function writeStamp(contextDir: string, stamp: BuildStamp): void {
  const temporary = `${stampPath(contextDir)}.${process.pid}-${randomBytes(4).toString("hex")}`;
  writeFileSync(temporary, `${JSON.stringify(stamp)}\n`);
  renameSync(temporary, stampPath(contextDir));
}

/**
 * Bundles the API's three entry points (server, migrate, healthcheck) into single CommonJS files
 * for Node 20, copies the native argon2 packages next to them and writes the Dockerfile. Returns
 * the build context directory and a hash of its contents that changes only when they change.
 * `root` is the repository to build from (tests build a copy they may change).
 *
 * Every program evaluation (`pulumi preview` included) calls this, so when the context already
 * holds a bundle built from the same inputs (see `hashBuildInputs`) esbuild is skipped and the
 * recorded content hash returned. The context is hashed again before it is trusted, so a context
 * changed or replaced since the stamp was written is rebuilt rather than tagged wrongly.
 */
export async function bundleApi(options: { outDir?: string; root?: string } = {}): Promise<{ contextDir: string; contentHash: string }> {
  const root = resolve(options.root ?? REPO_ROOT);
  const contextDir = resolve(options.outDir ?? join(root, ".build", "api"));
  const inputHash = hashBuildInputs(root);
  const stamp = readStamp(contextDir);
  if (stamp?.inputHash === inputHash && existsSync(contextDir) && hashDirectory(contextDir) === stamp.contentHash) {
    return { contextDir, contentHash: stamp.contentHash };
  }
  // Built beside the target and swapped in only when different, so a concurrent reader (a docker
  // build, another test) never sees a half-written context.
  const staging = `${contextDir}.staging-${process.pid}-${randomBytes(4).toString("hex")}`;
  mkdirSync(staging, { recursive: true });
  try {
    await writeContext(staging, root);
    const contentHash = hashDirectory(staging);
    if (!existsSync(contextDir) || hashDirectory(contextDir) !== contentHash) {
      rmSync(contextDir, { recursive: true, force: true });
      try {
        renameSync(staging, contextDir);
      } catch (error) {
        // Another caller swapped the same context in first: fine when it is identical.
        const code = (error as NodeJS.ErrnoException).code;
        if ((code !== "ENOTEMPTY" && code !== "EEXIST") || hashDirectory(contextDir) !== contentHash) throw error;
      }
    }
    writeStamp(contextDir, { inputHash, contentHash });
    return { contextDir, contentHash };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function writeContext(dir: string, root: string): Promise<void> {
  await build({
    entryPoints: ["server", "migrate", "healthcheck"].map((name) => join("app", "src", `${name}.ts`)),
    // Paths in the bundle's comments are relative to the repo root, whatever the caller's cwd.
    absWorkingDir: root,
    outdir: dir,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    // pg-native is an optional alternative driver pg only loads when asked to.
    external: [...Object.keys(NATIVE_PACKAGES), "pg-native"],
    sourcemap: false,
    minify: false,
    legalComments: "none",
    logLevel: "warning",
  });
  for (const [name, files] of Object.entries(NATIVE_PACKAGES)) {
    const source = dirname(require.resolve(`${name}/package.json`, { paths: [root] }));
    const target = join(dir, "node_modules", name);
    mkdirSync(target, { recursive: true });
    for (const file of files) copyFileSync(join(source, file), join(target, file));
  }
  // Hashed before the Dockerfile exists, so the label describes the code and not itself.
  writeFileSync(join(dir, "Dockerfile"), renderDockerfile(hashDirectory(dir)));
}

if (require.main === module) {
  bundleApi().then(
    ({ contextDir, contentHash }) => console.warn(`api bundle: ${contextDir} sha256:${contentHash}`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
