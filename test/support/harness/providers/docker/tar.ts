/** A one-file tar archive, as the docker provider builds for each Container upload. */
import { readFileSync } from "node:fs";

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

/** A ustar archive holding `path` with `content`, `mode`, `uid` and `gid`. */
export function tarFile(path: string, content: Buffer, mode: number, uid: number, gid: number): Buffer {
  const name = path.replace(/^\/+/, "");
  if (Buffer.byteLength(name) > 100) throw new Error(`harness: upload path too long for the harness's tar writer: ${path}`);
  const header = Buffer.alloc(512, 0);
  header.write(name, 0, 100, "utf8");
  header.write(octal(mode & 0o7777, 8), 100, 8, "ascii");
  header.write(octal(uid, 8), 108, 8, "ascii");
  header.write(octal(gid, 8), 116, 8, "ascii");
  header.write(octal(content.length, 12), 124, 12, "ascii");
  header.write(octal(Math.floor(Date.now() / 1000), 12), 136, 12, "ascii");
  header.write("        ", 148, 8, "ascii");
  header.write("0", 156, 1, "ascii");
  header.write("ustar\0", 257, 6, "ascii");
  header.write("00", 263, 2, "ascii");
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
  return Buffer.concat([header, content, pad, Buffer.alloc(1024, 0)]);
}

/** The first file in a tar archive (for copying a file out of a container). */
export function untarFirst(archive: Buffer): Buffer {
  const size = parseInt(archive.subarray(124, 136).toString("ascii").replace(/\0.*$/, "").trim(), 8);
  return archive.subarray(512, 512 + size);
}

/**
 * A numeric id for an upload's owner or group: numbers as given, names from this host's
 * /etc/passwd or /etc/group (the provider resolves names on the machine it runs on); root when unset.
 */
export function resolveId(kind: "user" | "group", value: string | undefined): number {
  if (value === undefined || value === "") return 0;
  if (/^\d+$/.test(value)) return Number(value);
  const file = kind === "user" ? "/etc/passwd" : "/etc/group";
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const f = line.split(":");
    if (f[0] === value && f[2] !== undefined) return Number(f[2]);
  }
  throw new Error(`harness: upload ${kind === "user" ? "owner" : "group"} "${value}" is not a number and not a ${kind} on this host`);
}
