/**
 * The harness's state file: what the last run created, like a Pulumi checkpoint. Secret values are
 * encrypted at rest with AES-256-GCM under a random key kept next to the state (as Pulumi's
 * passphrase secrets provider keeps an encrypted value per secret); both files are mode 0600 in a
 * 0700 directory.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isSecretEnvelope, SECRET_SIG, SIG_KEY, wrapSecret } from "./secrets";
import type { Props } from "./types";

/** Options recorded per resource, as the engine keeps them in its checkpoint. */
export interface ResourceOptions {
  readonly protect: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly retainOnDelete: boolean;
  readonly ignoreChanges: readonly string[];
  readonly replaceOnChanges: readonly string[];
  readonly deletedWith: string;
  readonly additionalSecretOutputs: readonly string[];
}

/** One resource in state. Inputs and outputs keep secret envelopes (encrypted on disk). */
export interface ResourceRecord {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly id: string;
  readonly parent: string;
  /** URN of the explicit provider resource, or "" for the default provider. */
  readonly provider: string;
  readonly dependencies: readonly string[];
  readonly inputs: Props;
  readonly outputs: Props;
  readonly options: ResourceOptions;
  /** Extra diff input a materializer computes (for example a build context's hash). */
  readonly fingerprint?: string;
}

/** The whole state of one stack. */
export interface StackState {
  version: 1;
  stack: string;
  resources: ResourceRecord[];
  /** Stack outputs of the last successful run (secret ones enveloped). */
  outputs: Props;
}

/** Where a stack's state lives by default. */
export function defaultStatePath(root: string, stack: string): string {
  return join(root, ".live", stack, "state.json");
}

const KEY_FILE = "state.key";
const CIPHER_FIELD = "ciphertext";

/** Reads, decrypts and writes one state file. */
export class StateStore {
  private readonly key: Buffer;

  constructor(readonly path: string) {
    const dir = dirname(path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const keyPath = join(dir, KEY_FILE);
    if (!existsSync(keyPath)) writeFileSync(keyPath, randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" });
    this.key = Buffer.from(readFileSync(keyPath, "utf8").trim(), "base64");
    if (this.key.length !== 32) throw new Error(`harness: state key ${keyPath} is not 32 bytes of base64; delete the stack's state directory to start over`);
  }

  /** Loads the state, or an empty one when the file does not exist. */
  load(stack: string): StackState {
    if (!existsSync(this.path)) return { version: 1, stack, resources: [], outputs: {} };
    const raw = JSON.parse(readFileSync(this.path, "utf8")) as StackState;
    if (raw.version !== 1 || raw.stack !== stack) throw new Error(`harness: ${this.path} is not a version 1 state of stack "${stack}"`);
    return this.decrypt(raw) as StackState;
  }

  /** Writes atomically with mode 0600. */
  save(state: StackState): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.encrypt(state), null, 2) + "\n", { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
  }

  /** Replaces every secret envelope by an encrypted one. */
  encrypt(v: unknown): unknown {
    if (isSecretEnvelope(v)) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", this.key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(v.value ?? null), "utf8"), cipher.final()]);
      return { [SIG_KEY]: SECRET_SIG, [CIPHER_FIELD]: Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64") };
    }
    if (Array.isArray(v)) return v.map((x) => this.encrypt(x));
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.encrypt(x)]));
    return v;
  }

  /** Inverse of {@link encrypt}; fails loudly on a wrong key or tampered value. */
  decrypt(v: unknown): unknown {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (o[SIG_KEY] === SECRET_SIG && typeof o[CIPHER_FIELD] === "string") {
        const buf = Buffer.from(o[CIPHER_FIELD], "base64");
        const decipher = createDecipheriv("aes-256-gcm", this.key, buf.subarray(0, 12));
        decipher.setAuthTag(buf.subarray(12, 28));
        let text: string;
        try {
          text = Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()]).toString("utf8");
        } catch {
          throw new Error(`harness: cannot decrypt a secret in ${this.path} (wrong key or tampered file)`);
        }
        return wrapSecret(JSON.parse(text));
      }
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, this.decrypt(x)]));
    }
    if (Array.isArray(v)) return v.map((x) => this.decrypt(x));
    return v;
  }
}
