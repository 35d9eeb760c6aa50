/**
 * Runs a Pulumi program in this process against the harness engine, the way the language host
 * would: config in place before the program loads, working directory at the project, exports
 * collected as stack outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { setMockOptions } from "@pulumi/pulumi/runtime/settings";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import type { ProgramConfig } from "./config";
import type { Engine } from "./engine";
import { CapturingMonitor } from "./monitor";
import { wrapSecret } from "./secrets";
import type { Props } from "./types";

/** Where the program lives and what it is given. */
export interface RunOptions {
  readonly projectDir: string;
  readonly stack: string;
  readonly config: ProgramConfig;
  readonly engine: Engine;
}

/** The Pulumi runtime's store, to switch on the features setMocks switches on. */
interface Store {
  supportsSecrets: boolean;
  supportsResourceReferences: boolean;
  supportsOutputValues: boolean;
  supportsDeletedWith: boolean;
  supportsAliasSpecs: boolean;
}

/**
 * Loads and runs the program; returns its stack outputs (secret ones enveloped). Throws with every
 * registration error (secrets redacted) when any resource failed.
 */
export async function runProgram(opts: RunOptions): Promise<Props> {
  process.chdir(opts.projectDir);
  process.env["PULUMI_CONFIG"] = JSON.stringify(opts.config.values);
  process.env["PULUMI_CONFIG_SECRET_KEYS"] = JSON.stringify(opts.config.secretKeys);

  const monitor = new CapturingMonitor(opts.engine);
  setMockOptions(monitor, opts.config.project, opts.stack, false);
  // The same features setMocks enables; Output values stay off so inputs arrive resolved.
  // The runtime's store is not in the typings; load it as plain CommonJS.
  const load = createRequire(__filename);
  const store = (load("@pulumi/pulumi/runtime/state") as { getStore(): Store }).getStore();
  Object.assign(store, { supportsSecrets: true, supportsResourceReferences: true, supportsOutputValues: false, supportsDeletedWith: true, supportsAliasSpecs: true });
  pulumi.runtime.setAllConfig(opts.config.values, [...opts.config.secretKeys]);

  // Resource work runs in promises; keep the process alive until the run settles either way.
  const keepAlive = setInterval(() => undefined, 1000);
  const stuck = new Promise<"stuck">((done) => monitor.whenFailedAndIdle(() => done("stuck")));
  const stray: unknown[] = [];
  const onRejection = (e: unknown): void => {
    stray.push(e);
  };
  process.on("unhandledRejection", onRejection);
  try {
    const programPath = resolve(opts.projectDir, opts.config.main);
    // The program is CommonJS, loaded as the language host loads it.
    const outputs: Props = {};
    const failures: string[] = [];
    const collect = async (): Promise<"done"> => {
      let exported = load(programPath) as unknown;
      if (typeof exported === "function") exported = await (exported as () => unknown)();
      for (const [key, value] of Object.entries((exported ?? {}) as Record<string, unknown>)) {
        if (key === "__esModule" || typeof value === "function") continue;
        const out = pulumi.output(value);
        try {
          const v = await (out as unknown as { promise(): Promise<unknown> }).promise();
          outputs[key] = (await pulumi.isSecret(out)) ? wrapSecret(v) : v;
        } catch (e) {
          failures.push(`output ${key}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      await pulumi.runtime.disconnect();
      return "done";
    };
    await Promise.race([collect(), stuck]);
    // Registration errors are the causes; outputs and stray rejections that merely repeat them are dropped.
    const causes = monitor.errors.map((e) => e.message);
    const echoes = [...failures, ...stray.map((e) => (e instanceof Error ? e.message : String(e)))];
    const errors = [...causes, ...echoes.filter((m) => !causes.some((c) => m.includes(c)))];
    if (errors.length > 0) throw new Error([...new Set(errors)].map((m) => opts.engine.redactor.redact(m)).join("\n"));
    return outputs;
  } finally {
    clearInterval(keepAlive);
    process.off("unhandledRejection", onRejection);
  }
}
