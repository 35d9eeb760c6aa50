/**
 * The contract every provider emulation in the live harness implements. A materializer turns the
 * inputs the program registered for one resource type into a real object (a Docker container, a
 * Postgres role, a random value) and returns the outputs the real provider would return.
 *
 * Strictness: `inputs` lists every input field the materializer honours. The harness refuses a
 * resource that sets any other field, and refuses any type that has no materializer, so the program
 * can never rely on something the harness silently ignores.
 *
 * Secrets: the harness unwraps Pulumi's secret envelopes before calling a materializer, so `inputs`
 * hold plain values. It wraps output fields again on the way back (a field whose input was secret,
 * or that the resource lists in `additionalSecretOutputs`), so materializers return plain values too.
 * A materializer must never log or put a secret value in an error message.
 */
export type Props = Record<string, unknown>;

/** What a materializer may use: the provider's config and the harness's shared services. */
export interface MaterializeContext {
  /** Stack name the harness runs (labels, names). */
  readonly stack: string;
  /** URN of the resource being materialized (for error messages). */
  readonly urn: string;
  /** Logical (Pulumi) name of the resource. */
  readonly name: string;
  /**
   * Config of the explicit provider resource this resource uses, or {} for the default provider.
   * Values arrive as the engine passes them to a provider: strings (ports and booleans too), with
   * secrets already unwrapped.
   */
  readonly providerConfig: Props;
  /** Logs a line to the harness's progress output. Never pass secret values. */
  log(message: string): void;
}

export interface Created {
  readonly id: string;
  readonly outputs: Props;
}

export interface Materializer {
  /** Pulumi type token, for example `docker:index/container:Container`. */
  readonly type: string;
  /** Input fields this materializer honours; anything else is refused. */
  readonly inputs: ReadonlySet<string>;
  /**
   * Input fields whose change the provider can apply in place. A change to any other field
   * replaces the resource (as the provider's ForceNew schema does).
   */
  readonly updatable: ReadonlySet<string>;
  /**
   * Checks inputs before anything is touched (required fields, values of nested fields the
   * materializer does not implement). Throws with a message naming the type and field.
   */
  validate?(inputs: Props): void;
  /**
   * Something the real provider diffs besides the inputs (a build context's content hash). A change
   * updates the resource when `update` exists, else replaces it.
   */
  fingerprint?(inputs: Props): Promise<string>;
  create(ctx: MaterializeContext, inputs: Props): Promise<Created>;
  /** Only called when every changed field is in `updatable`. Returns the new outputs. */
  update?(ctx: MaterializeContext, id: string, olds: Props, news: Props, oldOutputs: Props): Promise<Props>;
  /** Removes the real object; must succeed when the object is already gone. */
  delete(ctx: MaterializeContext, id: string, inputs: Props, outputs: Props): Promise<void>;
}
