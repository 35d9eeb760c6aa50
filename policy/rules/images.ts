import type { StackValidationPolicy } from "@pulumi/policy";
import { isPinnedByDigest } from "../requirements";
import { ENVIRONMENT_SCHEMA, isProd, ofType, TYPES, type EnvironmentConfig } from "./common";

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

/** Images are pinned by digest in prod, so a deployment runs exactly what was reviewed. */
export const prodImagesPinned: StackValidationPolicy = {
  name: "krc-prod-images-pinned",
  description: "In prod every pulled image and every build's base image is pinned by @sha256 digest, and containers run only such images or images built by the stack.",
  enforcementLevel: "mandatory",
  configSchema: ENVIRONMENT_SCHEMA,
  validateStack: (args, report) => {
    const config = args.getConfig<EnvironmentConfig>();
    const first = args.resources[0];
    if (!first || !isProd(first.urn, config)) return;
    for (const r of ofType(args.resources, TYPES.remoteImage)) {
      const name = String(r.props["name"] ?? "");
      if (!isPinnedByDigest(name)) report(`RemoteImage ${r.name} pulls ${name}, not pinned by @sha256 digest`, r.urn);
    }
    for (const r of ofType(args.resources, TYPES.image)) {
      const build = (r.props["build"] ?? {}) as { args?: Record<string, string> };
      for (const [key, value] of Object.entries(build.args ?? {})) {
        if (/IMAGE$/.test(key) && !isPinnedByDigest(value)) report(`Image ${r.name} builds from ${key}=${value}, not pinned by @sha256 digest`, r.urn);
      }
    }
    // Images the stack itself pulls (checked above) or builds (from a checked base image).
    const stackImages = new Set([
      ...ofType(args.resources, TYPES.remoteImage).map((r) => String(r.props["name"] ?? "")),
      ...ofType(args.resources, TYPES.image).map((r) => String(r.props["imageName"] ?? "")),
    ]);
    for (const c of ofType(args.resources, TYPES.container)) {
      const image = String(c.props["image"] ?? "");
      const fromStack =
        stackImages.has(image) || (c.propertyDependencies["image"] ?? []).some((d) => d.type === TYPES.remoteImage || d.type === TYPES.image);
      if (!fromStack && !isPinnedByDigest(image) && !IMAGE_ID.test(image)) {
        report(`Container ${c.name} runs ${image}, neither pinned by digest nor an image of this stack`, c.urn);
      }
    }
  },
};
