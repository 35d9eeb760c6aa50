import { isPinnedByDigest, profileOf, secretEnvFindings } from "../../../policy/requirements";
import type { Check } from "../types";
import { excepted, fail, list, pass } from "./util";

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

/** Image build and content (CIS 4.6, 4.10) and krc's image and environment rules. */
export const IMAGE_CHECKS: readonly Check[] = [
  {
    id: "4.6",
    title: "Ensure that HEALTHCHECK instructions have been added to container images",
    run(s) {
      const test = list(s.image?.Config?.Healthcheck?.Test);
      if (test.length > 0 && test[0] !== "NONE") return pass("image declares a HEALTHCHECK");
      if (profileOf(s.service)?.oneShot) return excepted("one-shot-migrate", s, "image has no HEALTHCHECK");
      const runtime = list(s.container.Config.Healthcheck?.Test);
      if (runtime.length > 0 && runtime[0] !== "NONE") return excepted("image-without-healthcheck", s, "image has no HEALTHCHECK; container sets one");
      return fail("no HEALTHCHECK in the image and none on the container");
    },
  },
  {
    id: "4.10",
    title: "Ensure secrets are not stored in Dockerfiles",
    run(s) {
      if (!s.image) return fail("image not found");
      const findings = secretEnvFindings(list(s.image.Config?.Env));
      return findings.length > 0 ? fail(`image ENV: ${findings.join("; ")}`) : pass("no secret in the image's ENV");
    },
  },
  {
    id: "KRC-ENV",
    title: "No secret in the container environment (only *_FILE paths)",
    run(s) {
      const findings = secretEnvFindings(list(s.container.Config.Env));
      return findings.length > 0 ? fail(findings.join("; ")) : pass(`${list(s.container.Config.Env).length} variables, none secret`);
    },
  },
  {
    id: "KRC-DIGEST",
    title: "Images pinned by digest in prod",
    run(s, input) {
      const ref = s.container.Config.Image;
      // An image id (the content hash of the image config) is as immutable as a digest.
      if (isPinnedByDigest(ref) || IMAGE_ID.test(ref)) return pass(`pinned: ${ref}`);
      return input.environment === "prod" ? fail(`not pinned by digest: ${ref}`) : pass(`dev stack, digest not required: ${ref}`);
    },
  },
];
