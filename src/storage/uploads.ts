// Upload sessions in R2: the state object (strongly consistent, written with etag checks),
// the tail bytes, and the session's data object. The cron's upload expiry lists these
// (registry/scheduled.ts); nothing about a session lives in KV.
import { RegistryError } from "../errors";
import { keys } from "./keys";
import type { UploadedPart } from "./blob-data";
import { readInto } from "../util/read-bounded";
import { listUnder } from "./list";
import type { Storage } from "./storage";
import { bucketOf } from "./bindings";

export interface UploadState {
  id: string;
  repo: string;
  /** Identity that opened the session; only it may continue the upload. */
  owner: string;
  createdAt: number;
  updatedAt: number;
  /** Bytes received and stored: full parts plus the tail. */
  offset: number;
  /** Part size this session was started with; it never changes mid-upload. */
  partSize: number;
  /** R2 multipart upload of the session's data object, created with the first full part. */
  multipartId: string | null;
  parts: UploadedPart[];
  /** Bytes past the last full part live in keys.uploadTail(id, tailGeneration). */
  tailGeneration: number;
  tailLength: number;
  /** sha256 of bytes [0, offset) when one request streamed them all through the hasher;
   *  otherwise the digest is computed at close by re-reading the data. */
  streamedSha256: string | null;
  /** Held by the request currently appending; see registry/upload-lock.ts. */
  lock: { id: string; at: number } | null;
}

export interface VersionedState {
  state: UploadState;
  etag: string;
}

export async function readUploadState(store: Storage, id: string): Promise<VersionedState | null> {
  const object = await bucketOf(store).get(keys.uploadState(id));
  if (!object) return null;
  return { state: (await object.json()) as UploadState, etag: object.etag };
}

/**
 * Writes the state only if it is still at `expectedEtag` (or absent, when null). Returns the
 * new etag, or null when another request changed it first.
 */
export async function writeUploadState(
  store: Storage,
  state: UploadState,
  expectedEtag: string | null,
): Promise<string | null> {
  const onlyIf = expectedEtag === null ? new Headers({ "If-None-Match": "*" }) : { etagMatches: expectedEtag };
  const written = await bucketOf(store).put(keys.uploadState(state.id), JSON.stringify(state), {
    onlyIf,
    httpMetadata: { contentType: "application/json" },
  });
  return written ? written.etag : null;
}

/**
 * Streams the session's tail into the start of `buffer` (a part buffer from the isolate's
 * pool): a tail is up to a part long, and eight sessions each reading theirs into a fresh
 * copy cost 64 MiB beyond the pool. Returns the view of `buffer` to use from then on.
 */
export async function readTailInto(store: Storage, state: UploadState, buffer: Uint8Array): Promise<Uint8Array> {
  if (state.tailLength === 0) return buffer;
  const object = await bucketOf(store).get(keys.uploadTail(state.id, state.tailGeneration));
  if (!object) throw new RegistryError("UNKNOWN", `upload ${state.id}: tail ${state.tailGeneration} is missing`);
  const wrongSize = () =>
    new RegistryError("UNKNOWN", `upload ${state.id}: tail has ${object.size} bytes, expected ${state.tailLength}`);
  if (object.size !== state.tailLength) {
    await object.body.cancel().catch(() => {});
    throw wrongSize();
  }
  const filled = await readInto(object.body, buffer, state.tailLength);
  if (!filled) throw wrongSize();
  return filled;
}

export async function writeTail(store: Storage, id: string, generation: number, bytes: Uint8Array): Promise<void> {
  await bucketOf(store).put(keys.uploadTail(id, generation), bytes);
}

export async function deleteTail(store: Storage, id: string, generation: number): Promise<void> {
  await bucketOf(store).delete(keys.uploadTail(id, generation));
}

/** Removes every object of the session: state and tails. The data object is the caller's. */
export async function deleteUploadObjects(store: Storage, id: string): Promise<void> {
  const { objects } = await listUnder(store, { prefix: keys.uploadPrefix(id), limit: 10_000 });
  if (objects.length > 0) await bucketOf(store).delete(objects.map((o) => o.object.key));
}

/** One page of upload sessions (ids, whether their state object exists or not), from where
 *  the last page stopped: the cursor is kept in R2 so the cron covers every session over
 *  several runs. Call saveSessionCursor with `next` once the page is handled. */
export async function nextSessionsToExpire(
  store: Storage,
  limit: number,
): Promise<{ ids: string[]; next: string | null }> {
  const cursorObject = await bucketOf(store).get(keys.uploadExpiryCursor());
  const cursor = cursorObject ? await cursorObject.text() : null;
  const listing = await listUnder(store, {
    prefix: keys.uploadsPrefix(),
    cursor: cursor || null,
    limit,
    maxCalls: 1,
    grouped: true,
  });
  return { ids: listing.groups, next: listing.cursor };
}

/** Where the next nextSessionsToExpire starts; null starts over at the first session. */
export async function saveSessionCursor(store: Storage, next: string | null): Promise<void> {
  if (next !== null) await bucketOf(store).put(keys.uploadExpiryCursor(), next);
  else await bucketOf(store).delete(keys.uploadExpiryCursor());
}
