import { isNoNewPrivileges, disablesSeccomp, isRootUser, normalizeCapability, profileOf } from "../../../policy/requirements";
import type { Check } from "../types";
import { excepted, fail, list, pass } from "./util";

/** User, capabilities and kernel security modules (CIS 4.1, 5.2–5.5, 5.7, 5.22, 5.26). */
export const PRIVILEGE_CHECKS: readonly Check[] = [
  {
    id: "4.1",
    title: "Ensure that a user for the container has been created",
    run(s) {
      const user = s.container.Config.User;
      if (!isRootUser(user)) return pass(`runs as ${user}`);
      const detail = `runs as root (User=${JSON.stringify(user)})`;
      return profileOf(s.service)?.mayRunAsRoot ? excepted("proxy-runs-as-root", s, detail) : fail(detail);
    },
  },
  {
    id: "5.2",
    title: "Ensure that, if applicable, an AppArmor Profile is enabled",
    run(s, input) {
      const profile = s.container.AppArmorProfile ?? "";
      if (profile === "unconfined") return fail("AppArmor explicitly disabled (apparmor=unconfined)");
      if (input.engine.apparmor) return profile ? pass(`profile ${profile}`) : fail("no AppArmor profile");
      return excepted("no-apparmor-on-host", s, "engine reports no AppArmor support");
    },
  },
  {
    id: "5.3",
    title: "Ensure that, if applicable, SELinux security options are set",
    run(s, input) {
      const labels = list<string>(s.container.HostConfig.SecurityOpt).filter((o) => o.startsWith("label"));
      if (labels.some((o) => /label[:=]disable/.test(o))) return fail("SELinux labelling disabled");
      if (input.engine.selinux) return labels.length > 0 ? pass(labels.join(" ")) : fail("no SELinux label options");
      return excepted("no-selinux-on-host", s, "engine reports no SELinux support");
    },
  },
  {
    id: "5.4",
    title: "Ensure that Linux kernel capabilities are restricted within containers",
    run(s) {
      const drops = list<string>(s.container.HostConfig.CapDrop).map(normalizeCapability);
      const adds = list<string>(s.container.HostConfig.CapAdd).map(normalizeCapability);
      if (!drops.includes("ALL")) return fail(`capabilities not dropped (CapDrop=${JSON.stringify(drops)})`);
      if (adds.length === 0) return pass("drops ALL, adds none");
      const allowed = profileOf(s.service)?.capAdd ?? [];
      const extra = adds.filter((c) => !allowed.includes(c));
      if (extra.length > 0) return fail(`adds ${extra.join(", ")} (allowed for ${s.service ?? "?"}: ${allowed.join(", ") || "none"})`);
      return excepted("proxy-net-bind-service", s, `drops ALL, adds ${adds.join(", ")}`);
    },
  },
  {
    id: "5.5",
    title: "Ensure that privileged containers are not used",
    run: (s) => (s.container.HostConfig.Privileged ? fail("privileged mode") : pass("not privileged")),
  },
  {
    id: "5.7",
    title: "Ensure sshd is not run within containers",
    run(s) {
      if (s.processes === null) return pass("not running: no processes");
      if ("error" in s.processes) return fail(`cannot list processes: ${s.processes.error}`);
      const sshd = s.processes.filter((cmd) => /(^|\/)sshd(\s|:|$)/.test(cmd));
      return sshd.length > 0 ? fail(`sshd running: ${sshd.join("; ")}`) : pass(`${s.processes.length} process(es), no sshd`);
    },
  },
  {
    id: "5.22",
    title: "Ensure the default seccomp profile is not Disabled",
    run(s) {
      const opts = list<string>(s.container.HostConfig.SecurityOpt);
      if (opts.some(disablesSeccomp)) return fail("seccomp=unconfined");
      // Privileged mode turns seccomp off whatever the options say.
      if (s.container.HostConfig.Privileged) return fail("privileged mode disables seccomp");
      return pass("default seccomp profile in force");
    },
  },
  {
    id: "5.26",
    title: "Ensure that the container is restricted from acquiring additional privileges",
    run(s) {
      const opts = list<string>(s.container.HostConfig.SecurityOpt);
      return opts.some(isNoNewPrivileges) ? pass("no-new-privileges") : fail("no-new-privileges not set");
    },
  },
];
