/**
 * The engine half of the harness: receives each resource registration from the program (through
 * {@link CapturingMonitor}), decides create/same/update/replace against the state file, calls the
 * materializer, and at the end deletes what the program no longer declares, in reverse dependency
 * order. Keeps the state file up to date after every step, as Pulumi checkpoints do.
 */
import { randomUUID } from "node:crypto";
import { LOCAL_DOCKER_HOST } from "./config";
import { planStep, withIgnored, type StepOp } from "./diff";
import { Redactor, secretFields, unwrapDeep, wrapFields } from "./secrets";
import { StateStore, type ResourceOptions, type ResourceRecord, type StackState } from "./state";
import type { MaterializeContext, Materializer, Props } from "./types";

/** The registration details the Mocks API hides, captured from the request. */
export interface Registration {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly parent: string;
  /** `<provider urn>::<provider id>` or "". */
  readonly providerRef: string;
  readonly dependencies: readonly string[];
  readonly options: ResourceOptions;
  readonly importId: string;
  /** Options the harness does not implement that the program set (refused). */
  readonly unsupported: readonly string[];
}

/** Counts of what a run did, as the engine's summary shows them. */
export interface Summary {
  create: number;
  update: number;
  replace: number;
  delete: number;
  same: number;
}

/** Provider packages whose explicit provider resources the harness accepts, with the config keys it honours. */
const PROVIDER_KEYS: Record<string, ReadonlySet<string> | "any"> = {
  docker: new Set(["host", "version"]),
  random: new Set(["version"]),
  tls: new Set(["version"]),
  // The postgresql materializers read and check their provider's config themselves.
  postgresql: "any",
};

const PROVIDER_PREFIX = "pulumi:providers:";
const OP_MARK: Record<StepOp | "delete", string> = { create: "+", same: " ", update: "~", replace: "+-", delete: "-" };

/** Options for one engine run. */
export interface EngineOptions {
  readonly project: string;
  readonly stack: string;
  readonly store: StateStore;
  readonly materializers: readonly Materializer[];
  readonly log: (line: string) => void;
  /** Delete protected resources anyway (only `down --force-unprotect`). */
  readonly forceUnprotect?: boolean;
  /** At most this many resource operations at once, like `pulumi up --parallel` (default: unbounded). */
  readonly parallel?: number;
}

/** A counting semaphore: `pulumi up --parallel N` for the materializers. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await f();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}

/** The URN the mock monitor gives a resource (same rule as MockMonitor.newUrn). */
export function mockUrn(project: string, stack: string, parent: string, type: string, name: string): string {
  let qualified = type;
  if (parent) {
    const parentType = (parent.split("::")[2] ?? "").split("$").pop() ?? "";
    qualified = `${parentType}$${type}`;
  }
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** One deployment (up or down) of one stack. */
export class Engine {
  readonly summary: Summary = { create: 0, update: 0, replace: 0, delete: 0, same: 0 };
  readonly redactor = new Redactor();
  private readonly state: StackState;
  private readonly materializers = new Map<string, Materializer>();
  /** Records of this run, by URN. */
  private readonly current = new Map<string, ResourceRecord>();
  /** Records from the previous run, by URN, still in state until replaced or deleted. */
  private readonly previous = new Map<string, ResourceRecord>();
  /** Replaced resources whose deletion waits for the end of the run (create-before-delete). */
  private readonly condemned: ResourceRecord[] = [];
  /** Resources deleted early because a delete-before-replace took down what they depend on. */
  private readonly deletedForReplace = new Set<string>();
  private saving = Promise.resolve();
  private readonly slots: Slots;

  constructor(private readonly opts: EngineOptions) {
    this.state = opts.store.load(opts.stack);
    this.slots = new Slots(opts.parallel ?? Number.MAX_SAFE_INTEGER);
    for (const m of opts.materializers) this.materializers.set(m.type, m);
    for (const r of this.state.resources) {
      if ((r as { condemned?: boolean }).condemned) this.condemned.push(r);
      else this.previous.set(r.urn, r);
      this.redactor.add(r.inputs);
      this.redactor.add(r.outputs);
    }
  }

  /** The stack this engine deploys. */
  get stackName(): string {
    return this.opts.stack;
  }

  /** Stack outputs of the last run (secret ones enveloped). */
  get stackOutputs(): Props {
    return this.state.outputs;
  }

  /** Handles one registration; returns the id and the state the program sees. */
  register(reg: Registration, inputs: Props): Promise<{ id: string | undefined; state: Props }> {
    return reg.custom ? this.slots.run(() => this.registerNow(reg, inputs)) : this.registerNow(reg, inputs);
  }

  private async registerNow(reg: Registration, inputs: Props): Promise<{ id: string | undefined; state: Props }> {
    const urn = mockUrn(this.opts.project, this.opts.stack, reg.parent, reg.type, reg.name);
    this.redactor.add(inputs);
    if (reg.unsupported.length > 0) throw new Error(`harness: ${urn}: resource options not implemented: ${reg.unsupported.join(", ")}`);
    if (reg.importId) throw new Error(`harness: ${urn}: importing existing resources is not implemented`);
    if (this.current.has(urn)) throw new Error(`harness: duplicate resource URN ${urn}`);

    if (!reg.custom) {
      this.record({ urn, type: reg.type, name: reg.name, custom: false, id: "", parent: reg.parent, provider: "", dependencies: reg.dependencies, inputs: {}, outputs: {}, options: reg.options });
      return { id: undefined, state: {} };
    }
    if (reg.type.startsWith(PROVIDER_PREFIX)) return this.registerProvider(urn, reg, inputs);

    const m = this.materializers.get(reg.type);
    if (m === undefined) throw new Error(`harness: resource type ${reg.type} is not implemented (${urn})`);
    for (const field of Object.keys(inputs)) {
      if (!m.inputs.has(field)) throw new Error(`harness: ${reg.type} input "${field}" is not implemented (${reg.name})`);
    }
    const plain = unwrapDeep(inputs) as Props;
    m.validate?.(plain);
    const providerUrn = reg.providerRef ? reg.providerRef.split("::").slice(0, -1).join("::") : "";
    const ctx = this.context(urn, reg.name, providerUrn);
    const fingerprint = m.fingerprint ? await m.fingerprint(plain) : undefined;
    const old = this.previous.get(urn);
    const plan = planStep(
      reg.type,
      old && { type: old.type, inputs: unwrapDeep(old.inputs) as Props, fingerprint: old.fingerprint },
      plain,
      fingerprint,
      { updatable: m.updatable, canUpdate: m.update !== undefined },
      reg.options,
    );
    // Ignored fields keep their old (possibly secret) values.
    const storedInputs = old ? withIgnored(inputs, old.inputs, reg.options.ignoreChanges) : inputs;
    const secret = new Set([...secretFields(storedInputs), ...reg.options.additionalSecretOutputs]);
    const base = { urn, type: reg.type, name: reg.name, custom: true, parent: reg.parent, provider: providerUrn, dependencies: reg.dependencies, inputs: storedInputs, options: reg.options, fingerprint };

    let id: string;
    let outputs: Props;
    const op: StepOp = plan.op === "create" && this.deletedForReplace.has(urn) ? "replace" : plan.op;
    if (plan.op === "same" && old) {
      id = old.id;
      outputs = old.outputs;
    } else if (plan.op === "update" && old && m.update) {
      this.step("update", reg.type, reg.name, `(${plan.changed.join(", ")})`);
      const out = await m.update(ctx, old.id, unwrapDeep(old.inputs) as Props, plan.inputs, unwrapDeep(old.outputs) as Props);
      id = old.id;
      outputs = wrapFields(out, secret);
    } else {
      if (plan.op === "replace" && old) {
        if (old.options.protect) {
          throw new Error(`harness: ${urn} is protected and its change (${plan.replaceBecause.join(", ")}) requires a replacement; set protect: false first`);
        }
        this.step("replace", reg.type, reg.name, `(${plan.replaceBecause.join(", ")})`);
        if (reg.options.deleteBeforeReplace) {
          await this.deleteDependentsOf(old);
          await this.deleteOne(old, true);
          this.previous.delete(urn);
        } else {
          this.previous.delete(urn);
          this.condemned.push(old);
        }
      } else {
        this.step(op, reg.type, reg.name);
      }
      const created = await m.create(ctx, plan.inputs);
      id = created.id;
      outputs = wrapFields(created.outputs, secret);
    }
    this.summary[op] += 1;
    this.redactor.add(outputs);
    this.record({ ...base, id, outputs });
    return { id, state: { ...storedInputs, ...outputs } };
  }

  private registerProvider(urn: string, reg: Registration, inputs: Props): { id: string; state: Props } {
    const pkg = reg.type.slice(PROVIDER_PREFIX.length);
    const allowed = PROVIDER_KEYS[pkg];
    if (allowed === undefined) throw new Error(`harness: provider ${pkg} is not implemented (${urn}); the harness cannot reach its service`);
    if (allowed !== "any") {
      for (const k of Object.keys(inputs)) if (!allowed.has(k)) throw new Error(`harness: ${reg.type} config "${k}" is not implemented (${reg.name})`);
      const host = unwrapDeep(inputs["host"]);
      if (pkg === "docker" && host !== undefined && host !== LOCAL_DOCKER_HOST) {
        throw new Error(`harness: ${reg.type} host "${String(host)}" is not implemented (only the local engine at ${LOCAL_DOCKER_HOST})`);
      }
    }
    const old = this.previous.get(urn);
    const same = old !== undefined && JSON.stringify(unwrapDeep(old.inputs)) === JSON.stringify(unwrapDeep(inputs));
    const id = old?.id ?? randomUUID();
    const op: StepOp = old === undefined ? "create" : same ? "same" : "update";
    if (op !== "same") this.step(op, reg.type, reg.name);
    this.summary[op] += 1;
    this.record({ urn, type: reg.type, name: reg.name, custom: true, id, parent: reg.parent, provider: "", dependencies: reg.dependencies, inputs, outputs: inputs, options: reg.options });
    return { id, state: inputs };
  }

  private context(urn: string, name: string, providerUrn: string): MaterializeContext {
    let providerConfig: Props = {};
    if (providerUrn) {
      const p = this.current.get(providerUrn) ?? this.previous.get(providerUrn) ?? this.condemned.find((r) => r.urn === providerUrn);
      if (p === undefined) throw new Error(`harness: ${urn}: provider ${providerUrn} is not registered`);
      providerConfig = unwrapDeep(p.inputs) as Props;
    }
    return { stack: this.opts.stack, urn, name, providerConfig, log: (line) => this.opts.log(`    ${this.redactor.redact(line)}`) };
  }

  private step(op: StepOp | "delete", type: string, name: string, detail = ""): void {
    this.opts.log(`${OP_MARK[op].padEnd(2)} ${op.padEnd(7)} ${type} ${name}${detail ? ` ${detail}` : ""}`);
  }

  private record(r: ResourceRecord): void {
    this.current.set(r.urn, r);
    this.persist();
  }

  /** Writes the state: this run's records, what is left of the previous run, and condemned ones. */
  private persist(): void {
    const resources = [
      ...this.current.values(),
      ...[...this.previous.values()].filter((r) => !this.current.has(r.urn)),
      ...this.condemned.map((r) => ({ ...r, condemned: true })),
    ];
    this.state.resources = resources;
    this.saving = this.saving.then(() => this.opts.store.save(this.state));
  }

  /** Waits for pending state writes. */
  async flush(): Promise<void> {
    await this.saving;
  }

  /** Records the stack outputs. */
  setStackOutputs(outputs: Props): void {
    this.state.outputs = outputs;
    this.persist();
  }

  /**
   * Ends an `up`: deletes condemned resources and those the program no longer registered, in
   * reverse dependency order.
   */
  async finishUp(): Promise<void> {
    const gone = [...this.previous.values()].filter((r) => !this.current.has(r.urn));
    await this.deleteAll([...this.condemned, ...gone]);
  }

  /** `down`: deletes everything in state. */
  async destroy(): Promise<void> {
    await this.deleteAll([...this.condemned, ...this.previous.values()]);
    this.state.outputs = {};
    this.persist();
  }

  /** The resources this run registered (secret values enveloped). */
  resources(): ResourceRecord[] {
    return [...this.current.values()];
  }

  /** True when nothing is left in state. */
  get empty(): boolean {
    return this.state.resources.length === 0;
  }

  /**
   * URNs `r` must outlive: its dependencies (the SDK already expands a dependency on a component to
   * the component's resources), its parent and its provider.
   */
  private dependsOn(r: ResourceRecord): Set<string> {
    return new Set([...r.dependencies, ...(r.parent ? [r.parent] : []), ...(r.provider ? [r.provider] : [])]);
  }

  /** Deletes `victims` so that nothing is deleted while something else in the set depends on it. */
  private async deleteAll(victims: ResourceRecord[]): Promise<void> {
    const left = [...victims];
    const urns = new Set(left.map((r) => r.urn));
    while (left.length > 0) {
      const ready = left.filter((r) => !left.some((o) => o !== r && this.dependsOn(o).has(r.urn)));
      // A program cannot make a cycle (dependencies point to resources registered earlier).
      if (ready.length === 0) throw new Error(`harness: dependency cycle among ${left.map((r) => r.urn).join(", ")}`);
      for (const r of ready) {
        if (r.options.deletedWith && urns.has(r.options.deletedWith)) this.forget(r);
        else await this.deleteOne(r);
        left.splice(left.indexOf(r), 1);
      }
    }
  }

  /** Deletes what depends on `target` (delete-before-replace takes its dependents down first). */
  private async deleteDependentsOf(target: ResourceRecord): Promise<void> {
    const dependents = [...this.previous.values()].filter((r) => !this.current.has(r.urn) && r.urn !== target.urn && this.dependsOn(r).has(target.urn));
    for (const r of dependents) this.deletedForReplace.add(r.urn);
    await this.deleteAll(dependents);
    for (const r of dependents) this.previous.delete(r.urn);
  }

  private async deleteOne(r: ResourceRecord, replacing = false): Promise<void> {
    if (r.custom) {
      if (r.options.protect && !this.opts.forceUnprotect) {
        throw new Error(`harness: ${r.urn} is protected and cannot be deleted; set protect: false (or use down --force-unprotect)`);
      }
      const partOfReplace = this.condemned.includes(r) || this.deletedForReplace.has(r.urn) || replacing;
      this.step("delete", r.type, r.name, partOfReplace ? "(replaced)" : "");
      if (r.options.retainOnDelete) {
        this.opts.log(`     (retainOnDelete: ${r.name} stays on the engine)`);
      } else if (!r.type.startsWith(PROVIDER_PREFIX)) {
        const m = this.materializers.get(r.type);
        if (m === undefined) throw new Error(`harness: cannot delete ${r.urn}: resource type ${r.type} is not implemented`);
        await m.delete(this.context(r.urn, r.name, r.provider), r.id, unwrapDeep(r.inputs) as Props, unwrapDeep(r.outputs) as Props);
      }
      if (!partOfReplace) this.summary.delete += 1;
    }
    this.forget(r);
  }

  private forget(r: ResourceRecord): void {
    const i = this.condemned.indexOf(r);
    if (i >= 0) this.condemned.splice(i, 1);
    else if (this.previous.get(r.urn) === r) this.previous.delete(r.urn);
    else if (this.current.get(r.urn) === r) this.current.delete(r.urn);
    this.persist();
  }

  /** One line like the engine's: "Resources: + 3 to create ...". */
  summaryLine(): string {
    const s = this.summary;
    const changes = s.create + s.update + s.replace + s.delete;
    return `Resources: + ${s.create} created, ~ ${s.update} updated, +- ${s.replace} replaced, - ${s.delete} deleted, ${s.same} unchanged (${changes} changes)`;
  }
}
