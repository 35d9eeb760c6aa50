/** Every materializer the harness has: the resource types a live deploy may use. */
import { cloudflare } from "./providers/cloudflare";
import { containerMaterializer } from "./providers/docker/container";
import { image } from "./providers/docker/image";
import { network } from "./providers/docker/network";
import { remoteImage } from "./providers/docker/remoteImage";
import { volume } from "./providers/docker/volume";
import { postgresqlMaterializers } from "./providers/postgresql";
import { randomBytes, randomPassword } from "./providers/random";
import { tlsMaterializers } from "./providers/tls";
import type { Materializer } from "./types";

/** All materializers; `redact` scrubs known secrets from container logs quoted in errors. */
export function allMaterializers(redact: (s: string) => string): Materializer[] {
  return [network, volume, remoteImage, image, containerMaterializer(redact), randomBytes, randomPassword, ...postgresqlMaterializers, ...tlsMaterializers, ...cloudflare];
}
