// Reading request bodies, shared by the routes and the token endpoint: the declared length,
// the body limit the edge enforces (MAX_REQUEST_BODY_BYTES), and small bodies read whole.
import type { Context } from "hono";
import type { AppEnv } from "./app-env";
import { bodyTooLarge, RegistryError } from "../errors";
import { readBounded } from "../util/read-bounded";

export function contentLength(c: Context<AppEnv>): number | null {
  const raw = c.req.header("Content-Length");
  if (raw === undefined) return null;
  if (!/^[0-9]{1,15}$/.test(raw.trim())) throw new RegistryError("SIZE_INVALID", "invalid Content-Length");
  return Number(raw.trim());
}

/** Refuses a body the edge would refuse (MAX_REQUEST_BODY_BYTES), before reading it. */
export function checkBodyLimit(c: Context<AppEnv>): void {
  const limit = c.get("config").maxRequestBodyBytes;
  const length = contentLength(c);
  if (limit !== null && length !== null && length > limit) {
    throw bodyTooLarge(`request body of ${length} bytes exceeds the limit of ${limit}`);
  }
}

/** Reads a whole body of at most `max` bytes, refusing larger ones with 413. */
export async function readBoundedBody(c: Context<AppEnv>, max: number): Promise<Uint8Array> {
  const length = contentLength(c);
  const tooLarge = () => new RegistryError("PAYLOAD_TOO_LARGE", `body exceeds ${max} bytes`);
  if (length !== null && length > max) throw tooLarge();
  const bytes = await readBounded(c.req.raw.body, max);
  if (!bytes) throw tooLarge();
  return bytes;
}
