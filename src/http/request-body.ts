// Small request bodies (manifests, token requests) read whole under a bound. Upload chunks
// stream instead, under the core's chunk rule (acceptChunk in src/registry/uploads.ts).
import type { Context } from "hono";
import type { AppEnv } from "./app-env";
import { RegistryError } from "../errors";
import { parseContentLength } from "../util/content-length";
import { readBounded } from "../util/read-bounded";

/** Reads a whole body of at most `max` bytes, refusing larger ones with 413. */
export async function readBoundedBody(c: Context<AppEnv>, max: number): Promise<Uint8Array> {
  const length = parseContentLength(c.req.header("Content-Length"));
  const tooLarge = () => new RegistryError("PAYLOAD_TOO_LARGE", `body exceeds ${max} bytes`);
  if (length !== null && length > max) throw tooLarge();
  const bytes = await readBounded(c.req.raw.body, max);
  if (!bytes) throw tooLarge();
  return bytes;
}
