import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { baseImages, image } from "../support/harness/providers/docker/image";
import { docker } from "../support/harness/providers/docker/engine";
import type { MaterializeContext } from "../support/harness/types";

const ctx: MaterializeContext = { stack: "image-test", urn: "urn:image", name: "img", providerConfig: {}, log: () => undefined };

afterEach(() => vi.restoreAllMocks());

describe("baseImages", () => {
  it("resolves the base from a build arg when FROM uses ${ARG}", () => {
    expect(baseImages("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG BASE_IMAGE\n", { BASE_IMAGE: "krc-standin/node:20" })).toEqual(["krc-standin/node:20"]);
  });

  it("falls back to the ARG default declared before FROM when no build arg is given", () => {
    expect(baseImages('ARG BASE="debian:12"\nFROM $BASE AS build\nFROM build\nFROM scratch\n')).toEqual(["debian:12"]);
  });

  it("skips flags and earlier stages and joins continuation lines when several FROMs appear", () => {
    const text = "# comment\nFROM --platform=linux/amd64 \\\n  node:20 AS deps\nFROM deps AS build\nFROM debian:12\n";
    expect(baseImages(text)).toEqual(["node:20", "debian:12"]);
  });

  it("throws naming the arg when FROM uses one without a value", () => {
    expect(() => baseImages("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")).toThrow("FROM uses build arg BASE_IMAGE, which has no value");
  });
});

describe("image materializer", () => {
  it("fails before building, saying no registry is reachable, when the base image is not on the engine", async () => {
    const dir = mkdtempSync(join(tmpdir(), "harness-image-"));
    writeFileSync(join(dir, "Dockerfile"), "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n");
    const missing = `krc-image-test/absent-${process.pid}:never`;
    await expect(
      image.create(ctx, { imageName: "krc-image-test:x", skipPush: true, build: { context: dir, args: { BASE_IMAGE: missing } } }),
    ).rejects.toThrow(`base image "${missing}" of krc-image-test:x is not on the local engine and no registry is reachable`);
  });

  it("leaves the built image on the engine when the resource is deleted, as the provider does", async () => {
    const getImage = vi.spyOn(docker, "getImage");
    await image.delete(ctx, "sha256:abc", { imageName: "krc-api:shared", skipPush: true }, { imageName: "krc-api:shared", repoDigest: "sha256:abc" });
    expect(getImage).not.toHaveBeenCalled();
  });
});
