import type { ResourceValidationPolicy } from "@pulumi/policy";
import { serviceOf, TYPES, type ContainerProps } from "./common";

/** One year: the minimum HSTS max-age browsers' preload lists accept. */
export const MIN_HSTS_MAX_AGE = 31_536_000;

/** Why a Caddyfile does not carry HSTS, or undefined when it does. */
export function hstsProblem(caddyfile: string): string | undefined {
  const match = /Strict-Transport-Security\s+"?max-age=(\d+)/i.exec(caddyfile);
  if (!match) return "sets no Strict-Transport-Security header";
  const maxAge = Number(match[1]);
  return maxAge < MIN_HSTS_MAX_AGE ? `sets HSTS max-age=${maxAge}, below ${MIN_HSTS_MAX_AGE} (one year)` : undefined;
}

/** The proxy's Caddyfile (uploaded as content) carries HSTS (guide §6). */
export const caddyHsts: ResourceValidationPolicy = {
  name: "krc-caddy-hsts",
  description: "The proxy's Caddyfile, uploaded as content, sets Strict-Transport-Security with max-age of at least one year.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.container) return;
    const props = args.props as ContainerProps;
    if (serviceOf(props) !== "proxy") return;
    const caddyfiles = (props.uploads ?? []).filter((u) => /(^|\/)Caddyfile$/.test(u.file));
    if (caddyfiles.length === 0) report("the proxy gets no Caddyfile upload; upload it with content so its headers can be checked");
    for (const upload of caddyfiles) {
      if (upload.content === undefined) {
        report(`${upload.file} is uploaded from ${upload.source ?? "?"}, not as content; its HSTS header cannot be checked`);
        continue;
      }
      const problem = hstsProblem(upload.content);
      if (problem) report(`${upload.file} ${problem}`);
    }
  },
};
