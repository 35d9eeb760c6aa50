import { describe, expect, it } from "vitest";
import { hasFailures, runAudit } from "../../tools/audit/audit";
import { CHECKS } from "../../tools/audit/checks";
import { EXCEPTIONS } from "../../tools/audit/exceptions";
import { renderReport } from "../../tools/audit/report";
import { EXTERNAL, input, subject } from "./audit-fixtures";

describe("audit report", () => {
  it("prints one row per check and one column per container when rendering a stack", () => {
    const results = runAudit(input([subject(), subject({ service: "proxy", user: "0", networks: [EXTERNAL] })]));
    const lines = renderReport("audit-fixture", results).split("\n");
    const header = lines.find((l) => l.startsWith("check"));
    expect(header).toMatch(/\sapi\s+proxy\s*$/);
    expect(lines).toContain("containers: krc-audit-fixture-<column>");
    for (const check of CHECKS) {
      expect(lines.filter((l) => l.startsWith(`${check.id} `))).toHaveLength(1);
    }
  });

  it("lists each failure with its detail and exits non-zero when a check fails", () => {
    const weak = subject({ edit: (c) => void (c.HostConfig.ReadonlyRootfs = false) });
    const results = runAudit(input([weak]));
    expect(hasFailures(results)).toBe(true);
    expect(renderReport("audit-fixture", results)).toMatch(/FAIL\s+5\.13\s+krc-audit-fixture-api: root filesystem is writable/);
  });

  it("prints the reason and compensation of every exception in force when one applies", () => {
    const proxy = subject({ service: "proxy", user: "0", networks: [EXTERNAL] });
    const results = runAudit(input([proxy]));
    expect(hasFailures(results)).toBe(false);
    const report = renderReport("audit-fixture", results);
    expect(report).toContain("EXCEPTION 4.1        krc-audit-fixture-proxy: runs as root");
    expect(report).toContain(`reason: ${EXCEPTIONS["proxy-runs-as-root"].reason}.`);
    expect(report).toContain(`compensation: ${EXCEPTIONS["proxy-runs-as-root"].compensation}.`);
    expect(report).not.toContain("restart-unless-stopped [");
  });

  it("counts every status when summarising", () => {
    const results = runAudit(input([subject()]));
    const summary = renderReport("audit-fixture", results).split("\n").at(-1);
    const pass = results.filter((r) => r.status === "PASS").length;
    expect(summary).toBe(`${pass} PASS, ${results.length - pass} EXCEPTION, 0 FAIL`);
  });
});

describe("exceptions list", () => {
  it("names only checks the audit runs when an exception is declared", () => {
    const ids = new Set(CHECKS.map((c) => c.id));
    for (const e of Object.values(EXCEPTIONS)) {
      for (const check of e.checks) expect(ids, `${e.id} -> ${check}`).toContain(check);
    }
  });
});
