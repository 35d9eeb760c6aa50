import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDeployableConfig, loadProgramConfig } from "../support/harness/config";

function files(project: string, stack?: string): { project: string; stack?: string } {
  const dir = mkdtempSync(join(tmpdir(), "harness-config-"));
  writeFileSync(join(dir, "Pulumi.yaml"), project);
  if (stack === undefined) return { project: join(dir, "Pulumi.yaml") };
  writeFileSync(join(dir, "Pulumi.s.yaml"), stack);
  return { project: join(dir, "Pulumi.yaml"), stack: join(dir, "Pulumi.s.yaml") };
}

const PROJECT = `name: p
main: src/
config:
  port:
    type: integer
    default: 80
  hosts:
    type: array
    items: { type: string }
    default: [a.example]
  debug:
    type: boolean
    default: false
  other:namespaced: 7
  name:
    type: string
`;

describe("loadProgramConfig", () => {
  it("applies Pulumi.yaml defaults in the project namespace, rendered as the CLI renders them", () => {
    const f = files(PROJECT);
    expect(loadProgramConfig(f.project, undefined, [])).toEqual({
      project: "p",
      main: "src/",
      values: { "p:port": "80", "p:hosts": '["a.example"]', "p:debug": "false", "other:namespaced": "7" },
      secretKeys: [],
    });
  });

  it("lets the stack file override defaults and --set override the stack file", () => {
    const f = files(PROJECT, "config:\n  p:port: 8080\n  p:name: dev\n  p:hosts: [x.localhost, y.localhost]\n");
    const c = loadProgramConfig(f.project, f.stack, [{ key: "p:port", value: "9090", secret: false }, { key: "name", value: "over", secret: false }]);
    expect(c.values).toMatchObject({ "p:port": "9090", "p:name": "over", "p:hosts": '["x.localhost","y.localhost"]' });
  });

  it("marks --secret values as secret keys", () => {
    const f = files(PROJECT);
    expect(loadProgramConfig(f.project, undefined, [{ key: "p:name", value: "s", secret: true }]).secretKeys).toEqual(["p:name"]);
  });

  it("rejects a stack value of the wrong declared type, naming the key", () => {
    const f = files(PROJECT, "config:\n  p:port: eighty\n");
    expect(() => loadProgramConfig(f.project, f.stack, [])).toThrow(`${f.stack}: configuration key 'p:port' must be of type 'integer', got "eighty"`);
  });

  it("rejects a --set value of the wrong declared type", () => {
    const f = files(PROJECT);
    expect(() => loadProgramConfig(f.project, undefined, [{ key: "p:debug", value: "yes", secret: false }])).toThrow(
      `--set: configuration key 'p:debug' must be of type 'boolean', got "yes"`,
    );
  });

  it("refuses encrypted values it cannot decrypt and says how to pass them", () => {
    const f = files(PROJECT, "config:\n  p:name:\n    secure: AAABAMx=\n");
    expect(() => loadProgramConfig(f.project, f.stack, [])).toThrow(
      `${f.stack}: 'p:name' is encrypted for the Pulumi CLI; the harness cannot decrypt it (pass --secret p:name=<value>)`,
    );
  });

  it("refuses a docker:host that is not the local engine, naming the key and not the value", () => {
    const f = files(PROJECT, "config:\n  docker:host: ssh://deploy@203.0.113.10\n");
    const load = () => loadDeployableConfig(f.project, f.stack, []);
    expect(load).toThrow(
      "harness: configuration key 'docker:host' is not implemented: the harness deploys only to the local engine (unix:///var/run/docker.sock); the only docker provider config allowed is docker:host=unix:///var/run/docker.sock",
    );
    expect(load).not.toThrow(/203\.0\.113\.10/);
  });

  it("refuses any other docker provider key when the stack file or --set gives one", () => {
    const f = files(PROJECT, "config:\n  docker:sshOpts: [\"-i\", \"key\"]\n");
    expect(() => loadDeployableConfig(f.project, f.stack, [])).toThrow(/configuration key 'docker:sshOpts' is not implemented: the harness does not implement this docker provider setting/);
    expect(() => loadDeployableConfig(files(PROJECT).project, undefined, [{ key: "docker:certPath", value: "/x", secret: false }])).toThrow(/'docker:certPath' is not implemented/);
  });

  it("accepts docker:host when it names the local engine", () => {
    const f = files(PROJECT, "config:\n  docker:host: unix:///var/run/docker.sock\n");
    expect(loadDeployableConfig(f.project, f.stack, []).values["docker:host"]).toBe("unix:///var/run/docker.sock");
  });

  it("loads the prod stack file for evaluation under mocks, where no engine is touched", () => {
    const root = join(__dirname, "../..");
    expect(loadProgramConfig(join(root, "Pulumi.yaml"), join(root, "Pulumi.prod.yaml"), []).values["docker:host"]).toMatch(/^ssh:\/\//);
  });

  it("refuses the prod stack file, which deploys over ssh", () => {
    const root = join(__dirname, "../..");
    expect(() => loadDeployableConfig(join(root, "Pulumi.yaml"), join(root, "Pulumi.prod.yaml"), [])).toThrow(/'docker:host' is not implemented/);
  });
});
