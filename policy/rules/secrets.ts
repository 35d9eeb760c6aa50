import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { secretEnvFindings } from "../requirements";
import { ofType, TYPES, type ContainerProps } from "./common";

/**
 * Resource types whose outputs are generated secrets. The policy SDK hands validateResource
 * plain values (secrets unwrapped, no secret marker), so the secret-ness of an env value is
 * found through the stack's property dependencies instead: `envs` must not be computed from any
 * of these.
 */
export const SECRET_SOURCE_TYPES: readonly string[] = [
  "random:index/randomPassword:RandomPassword",
  "random:index/randomBytes:RandomBytes",
  "random:index/randomString:RandomString",
  "random:index/randomId:RandomId",
  "tls:index/privateKey:PrivateKey",
];

/** Env entries named like secrets or holding secret-looking values (guide §1, §8). */
export const noSecretInEnvs: ResourceValidationPolicy = {
  name: "krc-no-secret-in-envs",
  description: "Container envs carry no secret: no PASSWORD/SECRET/KEY/TOKEN-named variable except *_FILE paths, and no value that looks like key material, a JWT or a URL with a password.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.container) return;
    for (const finding of secretEnvFindings((args.props as ContainerProps).envs ?? [])) report(`envs: ${finding}`);
  },
};

/** Env values computed from a generated secret, whatever they are named or look like. */
export const noSecretSourceInEnvs: StackValidationPolicy = {
  name: "krc-no-secret-source-in-envs",
  description: "No container env is computed from a generated secret (random password/bytes, private key); secrets reach containers only as files.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const container of ofType(args.resources, TYPES.container)) {
      const sources = (container.propertyDependencies["envs"] ?? []).filter((d) => SECRET_SOURCE_TYPES.includes(d.type));
      for (const source of sources) {
        report(`envs of ${container.name} are computed from ${source.type} ${source.name}; upload it as a file and pass its path in *_FILE`, container.urn);
      }
    }
  },
};
