import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerLabels, LABEL_ROLE, ROLE_FILES_WRITER, type Service } from "../naming";

/** Type token of {@link FileVolume}. */
export const FILE_VOLUME_TYPE = "krc:files:FileVolume";

/** One file to place on the volume. */
export interface VolumeFile {
  /** File name in the volume's root. */
  readonly name: string;
  readonly content: pulumi.Input<string>;
}

export interface FileVolumeArgs {
  readonly stack: string;
  /** The service that reads the files (its `krc.service` label). */
  readonly service: Service;
  /** Docker name of the volume; the writer container is `<volumeName>-writer`. */
  readonly volumeName: string;
  /** Where the files appear, in the writer and in the service. */
  readonly target: string;
  /** An image already on the host (the service's own): the writer never runs it. */
  readonly image: pulumi.Input<string>;
  readonly files: readonly VolumeFile[];
  /** Owner of every file: the service's user, which alone may read it (0400). */
  readonly uid: number;
  readonly gid: number;
  /** Whether the contents are secrets: kept secret in state and diffs. */
  readonly secret: boolean;
}

/**
 * Files for one service on a named volume, delivered by the docker provider's `uploads`.
 *
 * The provider copies uploads through the Engine API into "/" of the container, and the engine
 * refuses that for a read-only root filesystem even when the file's directory is a volume. So a
 * never-started "writer" container with a writable root (and nothing else: no network, no
 * capabilities) receives the uploads onto the volume, and the hardened service mounts the volume
 * read-only. The writer's id is the files' revision: new content replaces the writer, and a service
 * that carries the revision is replaced with it.
 */
export class FileVolume extends pulumi.ComponentResource {
  /** Name of the volume. */
  public readonly volumeName: pulumi.Output<string>;
  /** Changes whenever the files change (the writer container's id). */
  public readonly revision: pulumi.Output<string>;
  /** Where the files are mounted. */
  public readonly target: string;

  constructor(name: string, args: FileVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
    const names = args.files.map((f) => f.name);
    const bad = names.find((n) => !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(n)) ?? names.find((n, i) => names.indexOf(n) !== i);
    if (bad !== undefined) {
      throw new Error(`FileVolume ${name}: file names must be unique plain names ([A-Za-z0-9._-]), got ${JSON.stringify(bad)}`);
    }
    super(FILE_VOLUME_TYPE, name, {}, opts);
    // Fixed names: a replacement must remove the old object before creating its successor.
    const fixedName = { parent: this, deleteBeforeReplace: true };

    const volume = new docker.Volume(`${name}-volume`, { name: args.volumeName, labels: dockerLabels(args.stack, args.service) }, fixedName);

    const writer = new docker.Container(
      `${name}-writer`,
      {
        name: `${args.volumeName}-writer`,
        image: args.image,
        // Never started: the command is only what Docker requires a container to have.
        command: ["true"],
        start: false,
        mustRun: false,
        restart: "no",
        networkMode: "none",
        user: `${args.uid}:${args.gid}`,
        // Writable root: the one thing the uploads need (see above); everything else is denied.
        readOnly: false,
        privileged: false,
        securityOpts: ["no-new-privileges:true"],
        capabilities: { drops: ["ALL"], adds: [] },
        labels: [...dockerLabels(args.stack, args.service), { label: LABEL_ROLE, value: ROLE_FILES_WRITER }],
        mounts: [{ type: "volume", source: volume.name, target: args.target }],
        uploads: args.files.map((file) => ({
          file: `${args.target}/${file.name}`,
          content: args.secret ? pulumi.secret(file.content) : file.content,
          owner: String(args.uid),
          group: String(args.gid),
          permissions: "0400",
        })),
      },
      { ...fixedName, additionalSecretOutputs: args.secret ? ["uploads"] : [] },
    );

    this.volumeName = volume.name;
    this.revision = writer.id;
    this.target = args.target;
    this.registerOutputs({ volumeName: this.volumeName, revision: this.revision });
  }

  /** The read-only mount of the volume for the service. */
  mount(): docker.types.input.ContainerMount {
    return { type: "volume", source: this.volumeName, target: this.target, readOnly: true };
  }
}
