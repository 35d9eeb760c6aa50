/**
 * A MockMonitor that also sees the resource options the Mocks API hides (protect,
 * deleteBeforeReplace, dependencies, parent, ...) and hands every registration to the engine.
 */
import { MockMonitor, type MockCallArgs, type MockResourceArgs, type MockResourceResult } from "@pulumi/pulumi/runtime/mocks";
import type { Engine, Registration } from "./engine";
import type { Props } from "./types";

/** The parts of a RegisterResourceRequest the harness reads (protobuf getters). */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  getParent(): string;
  getProvider(): string;
  getProtect(): boolean;
  getDeletebeforereplace(): boolean;
  getRetainondelete(): boolean;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getDependenciesList(): string[];
  getDeletedwith(): string;
  getAdditionalsecretoutputsList(): string[];
  getImportid(): string;
  getReplaceWithList?(): string[];
  getReplacementTrigger?(): unknown;
  getHooks?(): unknown;
  getCustomtimeouts(): unknown;
  getRemote(): boolean;
}

/** Reads the registration details from the request. */
export function readRegistration(req: RegisterRequest): Registration {
  const unsupported: string[] = [];
  // Aliases only carry state over from an old URN; this state never holds the SDKs' legacy type
  // names (for example docker.Image's), so they are accepted and not applied.
  if ((req.getReplaceWithList?.() ?? []).length > 0) unsupported.push("replaceWith");
  if (req.getReplacementTrigger?.()) unsupported.push("replacementTrigger");
  if (req.getHooks?.()) unsupported.push("hooks");
  const t = req.getCustomtimeouts() as { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
  if (t && (t.getCreate() || t.getUpdate() || t.getDelete())) unsupported.push("customTimeouts");
  if (req.getRemote()) unsupported.push("remote components");
  return {
    type: req.getType(),
    name: req.getName(),
    custom: req.getCustom(),
    parent: req.getParent(),
    providerRef: req.getProvider(),
    dependencies: req.getDependenciesList(),
    importId: req.getImportid(),
    unsupported,
    options: {
      protect: req.getProtect(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
      retainOnDelete: req.getRetainondelete(),
      ignoreChanges: req.getIgnorechangesList(),
      replaceOnChanges: req.getReplaceonchangesList(),
      deletedWith: req.getDeletedwith(),
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    },
  };
}

/** Routes registrations to the engine, failing reads and invokes the harness does not implement. */
export class CapturingMonitor extends MockMonitor {
  private pending: Registration | undefined;
  /** Errors raised while registering, reported after the program finishes. */
  readonly errors: Error[] = [];
  private inFlight = 0;
  private onStuck: (() => void) | undefined;

  /**
   * Calls `f` once a registration has failed and nothing is in flight any more: what is left of
   * the program waits on the failed resource and would never finish.
   */
  whenFailedAndIdle(f: () => void): void {
    this.onStuck = f;
  }

  private checkStuck(): void {
    if (this.errors.length === 0 || this.inFlight > 0) return;
    // Let callbacks queued by the last completion register what they can before giving up.
    setTimeout(() => {
      if (this.inFlight === 0) this.onStuck?.();
    }, 300);
  }

  constructor(engine: Engine) {
    super({
      call: (args: MockCallArgs) => {
        throw new Error(`harness: function ${args.token} is not implemented`);
      },
      newResource: async (args: MockResourceArgs): Promise<MockResourceResult> => {
        // Read synchronously: registerResource sets it just before this call, with no await between.
        const reg = this.pending;
        this.pending = undefined;
        if (reg === undefined) throw new Error(`harness: reading existing resources (${args.type} ${args.name}) is not implemented`);
        this.inFlight += 1;
        try {
          const out = await engine.register(reg, (args.inputs ?? {}) as Props);
          return { id: out.id, state: out.state };
        } catch (e) {
          const err = e instanceof Error ? e : new Error(String(e));
          // Provider errors (a SQL error, an Engine API error) do not say which resource failed.
          const named = err.message.startsWith("harness:") ? err.message : `harness: ${args.type} ${args.name}: ${err.message}`;
          err.message = engine.redactor.redact(named);
          this.errors.push(err);
          throw err;
        } finally {
          this.inFlight -= 1;
          this.checkStuck();
        }
      },
    });
  }

  override registerResource(req: unknown, callback: (err: unknown, resp: unknown) => void): Promise<void> {
    this.pending = readRegistration(req as RegisterRequest);
    return super.registerResource(req, callback);
  }
}
