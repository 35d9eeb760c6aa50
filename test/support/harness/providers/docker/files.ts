/** Reads a file out of a container through the Engine API (works on running and stopped containers). */
import { docker, isNotFound } from "./engine";
import { untarFirst } from "./tar";

/** The file's bytes, retrying until it exists or `timeoutMs` passes (Caddy creates its CA lazily). */
export async function copyFileFromContainer(container: string, path: string, timeoutMs: number): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const stream = await docker.getContainer(container).getArchive({ path });
      const chunks: Buffer[] = [];
      for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
      return untarFirst(Buffer.concat(chunks));
    } catch (e) {
      if (!isNotFound(e) || Date.now() > deadline) throw new Error(`harness: cannot read ${path} from container ${container}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
