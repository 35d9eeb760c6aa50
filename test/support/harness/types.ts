/**
 * The contract every provider emulation in the live harness implements. A materializer turns the
 * inputs the program registered for one resource type into a real object (a Docker container, a
 * Postgres role, a random value) and returns the outputs the real provider would return.
 *
 * Strictness: `inputs` lists every input field the materializer honours. The harness refuses a
 * resource that sets any other field, and refuses any type that has no materializer, so the program
 * can never rely on something the harness silently ignores.
 */
export type Props = Record<string, unknown>;

/** What a materializer may use: the provider's config and the harness's shared services. */
export interface MaterializeContext {
  /** Stack name the harness runs (labels, names). */
  readonly stack: string;
  /** Config of the explicit provider resource this resource uses, or {} for the default provider. */
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
  create(ctx: MaterializeContext, inputs: Props): Promise<Created>;
  /** Only called when every changed field is in `updatable`. */
  update?(ctx: MaterializeContext, id: string, olds: Props, news: Props, oldOutputs: Props): Promise<Props>;
  delete(ctx: MaterializeContext, id: string, inputs: Props, outputs: Props): Promise<void>;
}
