import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** Type token of {@link Secrets}. */
export const SECRETS_TYPE = "krc:secrets:Secrets";

/**
 * Every generated secret: its file name under /run/secrets and how its value is encoded. 32 random
 * bytes each, as the hardening guide's `openssl rand -hex 32` / `-base64 32`.
 */
export const SECRET_FILES = {
  postgres_password: "hex",
  db_owner_password: "hex",
  db_app_password: "hex",
  db_readonly_password: "hex",
  jwt_signing_key: "hex",
  secret_key: "hex",
  zapier_hmac_secret: "base64",
  admin_initial_password: "password",
} as const;

/** File name of a generated secret. */
export type SecretName = keyof typeof SECRET_FILES;

export interface SecretsArgs {
  /** Rotation version of each secret: changing one regenerates that secret only. */
  readonly versions: Readonly<Record<SecretName, number>>;
}

/** The stack's generated secrets, each a secret Output that never leaves Pulumi's encrypted state. */
export class Secrets extends pulumi.ComponentResource {
  /** Secret value of each generated secret, by file name. */
  public readonly values: Readonly<Record<SecretName, pulumi.Output<string>>>;

  constructor(name: string, args: SecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    const entries = Object.entries(SECRET_FILES) as [SecretName, (typeof SECRET_FILES)[SecretName]][];
    for (const [secret] of entries) {
      const version = args.versions[secret];
      if (!Number.isInteger(version) || version < 1) {
        throw new Error(`Secrets ${name}: version of ${secret} must be a positive integer, got ${String(version)}`);
      }
    }
    super(SECRETS_TYPE, name, {}, opts);
    const values: Partial<Record<SecretName, pulumi.Output<string>>> = {};
    for (const [secret, encoding] of entries) {
      const version = args.versions[secret];
      const childName = `${name}-${secret.replace(/_/g, "-")}`;
      const keepers = { version: String(version) };
      if (encoding === "password") {
        // A person types this one once: the guide's policy (12+ chars, mixed case, digits and
        // symbols from its list) holds by construction, so the app's policy check accepts it.
        const password = new random.RandomPassword(
          childName,
          {
            length: 24,
            overrideSpecial: "!@#$%^&*()",
            minUpper: 2,
            minLower: 2,
            minNumeric: 2,
            minSpecial: 2,
            keepers,
          },
          { parent: this },
        );
        values[secret] = pulumi.secret(password.result);
      } else {
        const bytes = new random.RandomBytes(childName, { length: 32, keepers }, { parent: this });
        values[secret] = pulumi.secret(encoding === "hex" ? bytes.hex : bytes.base64);
      }
    }
    this.values = Object.freeze(values as Record<SecretName, pulumi.Output<string>>);
    this.registerOutputs({});
  }
}
