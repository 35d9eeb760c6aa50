import type { StackValidationPolicy } from "@pulumi/policy";
import { ofType, serviceOf, TYPES, type ContainerProps } from "./common";

/** One year: the minimum HSTS max-age browsers' preload lists accept. */
export const MIN_HSTS_MAX_AGE = 31_536_000;

/** Why a Caddyfile does not carry HSTS, or undefined when it does. */
export function hstsProblem(caddyfile: string): string | undefined {
  const match = /Strict-Transport-Security\s+"?max-age=(\d+)/i.exec(caddyfile);
  if (!match) return "sets no Strict-Transport-Security header";
  const maxAge = Number(match[1]);
  return maxAge < MIN_HSTS_MAX_AGE ? `sets HSTS max-age=${maxAge}, below ${MIN_HSTS_MAX_AGE} (one year)` : undefined;
}

/**
 * The proxy's Caddyfile carries HSTS (guide §6). It may reach the proxy through any container
 * labelled for the proxy (the proxy itself or the writer that fills its config volume), so this
 * looks at the whole stack.
 */
export const caddyHsts: StackValidationPolicy = {
  name: "krc-caddy-hsts",
  description: "The proxy's Caddyfile, uploaded as content, sets Strict-Transport-Security with max-age of at least one year.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const proxies = ofType(args.resources, TYPES.container).filter((c) => serviceOf(c.props as ContainerProps) === "proxy");
    if (proxies.length === 0) return;
    const uploads = proxies.flatMap((c) =>
      ((c.props as ContainerProps).uploads ?? []).filter((u) => /(^|\/)Caddyfile$/.test(u.file)).map((u) => ({ container: c, upload: u })),
    );
    if (uploads.length === 0) report("no container of the proxy gets a Caddyfile upload; upload it with content so its headers can be checked");
    for (const { container, upload } of uploads) {
      if (upload.content === undefined) {
        report(`${upload.file} is uploaded from ${upload.source ?? "?"}, not as content; its HSTS header cannot be checked`, container.urn);
        continue;
      }
      const problem = hstsProblem(upload.content);
      if (problem) report(`${upload.file} ${problem}`, container.urn);
    }
  },
};
