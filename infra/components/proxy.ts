import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { hardenedContainer } from "../baseline";
import { CADDY_HEALTH_URL, renderCaddyfile, type CaddyfileInput } from "../caddyfile";
import { dockerLabels, namePrefix } from "../naming";
import { FileVolume } from "./file-volume";

/** Type token of {@link ReverseProxy}. */
export const PROXY_TYPE = "krc:proxy:Proxy";

const CADDY_ETC = "/etc/caddy";

export interface ProxyArgs {
  readonly stack: string;
  /** Caddy image reference (validated config `caddyImage`). */
  readonly image: string;
  readonly externalNetwork: pulumi.Input<string>;
  /** What the Caddyfile is rendered from. */
  readonly caddyfile: CaddyfileInput;
  /** Host address the ports are published on. */
  readonly bindAddress: string;
  /** Host ports for the container's 80 and 443. */
  readonly httpPort: number;
  readonly httpsPort: number;
  /** Resources that must be ready first (the healthy API). */
  readonly after?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Caddy in front of the API, the only container with published ports. Certificates, keys and
 * the ACME account live on named volumes, so a replaced container reuses them.
 */
export class ReverseProxy extends pulumi.ComponentResource {
  /** Name of the Caddy container. */
  public readonly containerName: pulumi.Output<string>;
  /** Name of the volume mounted at /data (certificates, Caddy's local CA, ACME account). */
  public readonly dataVolumeName: pulumi.Output<string>;
  /** The rendered Caddyfile (no secrets in it). */
  public readonly caddyfile: string;

  constructor(name: string, args: ProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super(PROXY_TYPE, name, {}, opts);
    const prefix = namePrefix(args.stack);
    const fixedName = { parent: this, deleteBeforeReplace: true };
    this.caddyfile = renderCaddyfile(args.caddyfile);

    const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
    const volume = (suffix: string) =>
      new docker.Volume(
        `${name}-${suffix}`,
        { name: `${prefix}-caddy-${suffix}`, labels: dockerLabels(args.stack, "proxy") },
        fixedName,
      );
    const data = volume("data");
    const config = volume("config");
    // The Caddyfile reaches a read-only rootfs through a volume (see FileVolume); Caddy runs as
    // root, so root owns it.
    const etc = new FileVolume(
      `${name}-etc`,
      {
        stack: args.stack,
        service: "proxy",
        volumeName: `${prefix}-caddy-etc`,
        target: CADDY_ETC,
        image: image.imageId,
        files: [{ name: "Caddyfile", content: this.caddyfile }],
        uid: 0,
        gid: 0,
        secret: false,
      },
      { parent: this },
    );

    const container = new docker.Container(
      `${name}-container`,
      {
        ...hardenedContainer({
          stack: args.stack,
          service: "proxy",
          name: `${prefix}-proxy`,
          image: image.imageId,
          // Root, but with every capability dropped except the one below, no-new-privileges,
          // and a read-only rootfs (architecture.md, "Containers").
          user: "0:0",
          memoryMb: 256,
          cpuShares: 512,
          capAdd: [
            {
              name: "NET_BIND_SERVICE",
              why: "to bind 80 and 443; the official /usr/bin/caddy also carries this file capability, so without it in the bounding set the binary cannot even be executed",
            },
          ],
          tmpfs: { "/tmp": { sizeMb: 16 } },
          lifecycle: {
            kind: "service",
            health: {
              command: ["wget", "-q", "-O", "/dev/null", CADDY_HEALTH_URL],
              intervalSeconds: 10,
              timeoutSeconds: 5,
              retries: 3,
              startPeriodSeconds: 10,
            },
            waitTimeoutSeconds: 120,
          },
          stopGraceSeconds: 15,
          filesRevision: etc.revision,
        }),
        command: ["caddy", "run", "--config", `${CADDY_ETC}/Caddyfile`, "--adapter", "caddyfile"],
        networksAdvanced: [{ name: args.externalNetwork }],
        ports: [
          { internal: 80, external: args.httpPort, ip: args.bindAddress, protocol: "tcp" },
          { internal: 443, external: args.httpsPort, ip: args.bindAddress, protocol: "tcp" },
        ],
        mounts: [
          { type: "volume", source: data.name, target: "/data" },
          { type: "volume", source: config.name, target: "/config" },
          etc.mount(),
        ],
      },
      { ...fixedName, dependsOn: args.after ?? [] },
    );

    this.containerName = container.name;
    this.dataVolumeName = data.name;
    this.registerOutputs({ containerName: this.containerName, dataVolumeName: this.dataVolumeName });
  }
}
