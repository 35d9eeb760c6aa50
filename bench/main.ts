/**
 * `npm run bench`: the stack's speed and footprint against the live stack of `.live/stack.json`
 * (`npm run live:up`), each figure next to a baseline measured in the same run and their ratio.
 *
 *   tsx bench/main.ts [--stack-json <file>] [--only program,footprint,api,login,coldstart,deploy] [--json <file>]
 *
 * Exit status: 0 when every section ran (missed targets are reported, not failures), 1 when a
 * section failed, 2 when the stack is not up or the arguments are wrong.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { LOGIN_WINDOW_MS } from "../app/src/auth/rateLimit";
import { adminSession, deleteClients, deleteUser, staffSession, type Session } from "./api/session";
import { removeBenchObjects } from "./lib/dockerObjects";
import { connect, send, type Endpoint } from "./lib/load";
import { loadStack, STACK_JSON, StackNotUpError, type LiveStack } from "./lib/stack";
import { formatFigure, missBy, targetMet, type Figure } from "./lib/stats";
import { benchApi } from "./sections/api";
import { benchColdStart } from "./sections/coldstart";
import { benchDeploy } from "./sections/deploy";
import { benchFootprint } from "./sections/footprint";
import { benchLogin, LOGIN_CLIENTS } from "./sections/login";
import { loginBurst, memoryFigures, withMemoryPeak } from "./sections/memory";
import { benchProgram } from "./sections/program";

const REPO = resolve(__dirname, "..");
const SECTIONS = ["program", "footprint", "api", "login", "coldstart", "deploy"] as const;
type Section = (typeof SECTIONS)[number];
const TITLES: Record<Section, string> = {
  program: "1. Program evaluation (prod config, in-memory mocks)",
  api: "2. API through Caddy over TLS",
  login: "3. Login",
  coldstart: "4. Cold start",
  footprint: "5. Footprint",
  deploy: "6. Deploy",
};

interface Args {
  stackJson: string;
  only: ReadonlySet<Section>;
  json?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { stackJson: join(REPO, STACK_JSON), only: new Set(SECTIONS) };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    i += 1;
    if (flag === "--stack-json") args.stackJson = resolve(value);
    else if (flag === "--json") args.json = resolve(value);
    else if (flag === "--only") {
      const names = value.split(",");
      const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
      if (unknown.length > 0) throw new Error(`--only: unknown section ${unknown.join(", ")}; sections are ${SECTIONS.join(", ")}`);
      args.only = new Set(names as Section[]);
    } else throw new Error(`unknown argument ${flag}; usage: bench/main.ts [--stack-json <file>] [--only ${SECTIONS.join(",")}] [--json <file>]`);
  }
  return args;
}

/** The API host through Caddy on 127.0.0.1, trusting only Caddy's root CA. */
function endpointOf(stack: LiveStack): Endpoint {
  return { port: Number(stack.url.port || 443), host: stack.url.hostname, hostHeader: stack.url.host, ca: stack.ca };
}

/** Fails with StackNotUpError unless the stack answers /healthz through Caddy with a verified certificate. */
async function preflight(endpoint: Endpoint, stack: LiveStack, stackJson: string): Promise<void> {
  const client = connect(endpoint);
  try {
    const reply = await send(client, endpoint, { method: "GET", path: "/healthz" });
    if (reply.status !== 200) throw new Error(`HTTP ${reply.status}`);
  } catch (e) {
    throw new StackNotUpError(`the stack of ${stackJson} does not answer ${stack.url.origin}/healthz on 127.0.0.1:${endpoint.port} (${e instanceof Error ? e.message : String(e)}); deploy it with \`npm run live:up\`.`);
  } finally {
    await client.close();
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const figures: Figure[] = [];
  const failures: string[] = [];
  const log = (line: string): void => console.log(line);
  const section = async (name: Section, body: () => Promise<Figure[]>): Promise<void> => {
    if (!args.only.has(name)) return;
    // Other work on the machine moves every figure; the load average puts a run in context.
    log(`\n== ${TITLES[name]} (load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores)`);
    try {
      const result = await body();
      figures.push(...result);
      for (const f of result) log(`  ${formatFigure(f)}`);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      failures.push(`${TITLES[name]}: ${message}`);
      console.error(`  FAILED: ${message}`);
    }
  };

  const needsStack = [...args.only].some((s) => s !== "program" && s !== "deploy");
  let stack: LiveStack | undefined;
  if (needsStack) {
    stack = loadStack(args.stackJson);
    await preflight(endpointOf(stack), stack, args.stackJson);
    log(`bench: stack "${stack.stack}" at ${stack.url.origin} (containers ${stack.containers.join(", ")})`);
  }
  await removeBenchObjects();

  await section("program", () => benchProgram(log));
  if (stack) {
    const live = stack;
    const endpoint = endpointOf(live);
    const api = live.container("api");
    await section("footprint", () => benchFootprint(live.containers, api));

    let admin: Session | undefined;
    let staff: (Session & { email: string; password: string }) | undefined;
    const created: string[] = [];
    let loginsAt = 0;
    const client = connect(endpoint);
    try {
      if (args.only.has("api") || args.only.has("login")) {
        loginsAt = Date.now();
        admin = await adminSession(client, endpoint, live.stack, live.adminEmail, live.adminPassword, { path: join(dirname(args.stackJson), "bench", "admin.json") });
        staff = await staffSession(client, endpoint, admin);
      }
      const staffUser = staff;
      if (staffUser) {
        await section("api", async () => {
          const m = await withMemoryPeak(api, () => benchApi(endpoint, staffUser, { proxy: live.container("proxy"), api, db: live.container("db") }, created, log));
          return [...m.result, memoryFigures("API container peak memory during the API runs", m, "sampled every 20 ms from its cgroup")];
        });
        await section("login", async () => {
          const result = await benchLogin(live, staffUser, log);
          // The bench's own logins through Caddy spent part of this address's budget; a burst after the
          // window has passed gets the whole budget (the API section alone takes longer than that).
          const wait = LOGIN_WINDOW_MS + 1_000 - (Date.now() - loginsAt);
          if (wait > 0) {
            log(`  waiting ${Math.ceil(wait / 1000)} s for the login window of the bench's own logins to pass`);
            await new Promise((r) => setTimeout(r, wait));
          }
          log(`  burst of ${LOGIN_CLIENTS} concurrent logins through Caddy to the deployed API`);
          const m = await withMemoryPeak(api, async () => {
            const burst = await loginBurst(endpoint, staffUser.email, staffUser.password);
            await new Promise((r) => setTimeout(r, 500));
            return burst;
          });
          return [...result, memoryFigures("API container peak memory during a login burst", m, `${m.result.ok} logins hashed at once, ${m.result.limited} refused by the per-address limit`)];
        });
      }
    } finally {
      if (admin) {
        const cleaners = Array.from({ length: 8 }, () => connect(endpoint));
        const failed = await deleteClients(cleaners, endpoint, admin, created);
        await Promise.all(cleaners.map((c) => c.close()));
        if (staff && !(await deleteUser(client, endpoint, admin, staff.userId))) failures.push(`cleanup: the bench's staff user ${staff.email} could not be deleted`);
        if (failed > 0) failures.push(`cleanup: ${failed} of ${created.length} benchmark clients could not be deleted`);
        else if (created.length > 0) log(`\nbench: removed the ${created.length} clients it created`);
      }
      await client.close();
    }
    await section("coldstart", () => benchColdStart(api, live.postgres.caPem, log));
  }
  await section("deploy", () => benchDeploy(log));
  await removeBenchObjects();

  log(`\n== Summary (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  const judged = figures.filter((f) => targetMet(f) !== undefined);
  for (const f of judged) log(`  ${targetMet(f) ? "met   " : "MISSED"} ${f.name}${targetMet(f) ? "" : `: ${missBy(f) ?? ""}`}`);
  for (const f of failures) log(`  FAILED ${f}`);
  if (args.json) {
    mkdirSync(dirname(args.json), { recursive: true });
    writeFileSync(args.json, JSON.stringify({ at: new Date().toISOString(), figures, failures }, null, 2) + "\n");
  }
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(e instanceof StackNotUpError || (e instanceof Error && /usage|unknown|needs a value/.test(e.message)) ? 2 : 1);
  },
);
