// Upload sessions in R2 (authoritative, strongly consistent, written with etag checks) and
// KV (a record per session with expirationTtl, so abandoned sessions age out on their own).
import { keys } from "./keys";
import { listAll } from "./list";

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
  /** R2 multipart upload for keys.blobData(id), created with the first full part. */
  multipartId: string | null;
  parts: R2UploadedPart[];
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

export async function readUploadState(bucket: R2Bucket, id: string): Promise<VersionedState | null> {
  const object = await bucket.get(keys.uploadState(id));
  if (!object) return null;
  return { state: (await object.json()) as UploadState, etag: object.etag };
}

/**
 * Writes the state only if it is still at `expectedEtag` (or absent, when null). Returns the
 * new etag, or null when another request changed it first.
 */
export async function writeUploadState(bucket: R2Bucket, state: UploadState, expectedEtag: string | null): Promise<string | null> {
  const onlyIf = expectedEtag === null ? new Headers({ "If-None-Match": "*" }) : { etagMatches: expectedEtag };
  const written = await bucket.put(keys.uploadState(state.id), JSON.stringify(state), {
    onlyIf,
    httpMetadata: { contentType: "application/json" },
  });
  return written ? written.etag : null;
}

export async function readTail(bucket: R2Bucket, state: UploadState): Promise<Uint8Array> {
  if (state.tailLength === 0) return new Uint8Array(0);
  const object = await bucket.get(keys.uploadTail(state.id, state.tailGeneration));
  if (!object) throw new Error(`upload ${state.id}: tail ${state.tailGeneration} is missing`);
  const bytes = new Uint8Array(await object.arrayBuffer());
  if (bytes.length !== state.tailLength) throw new Error(`upload ${state.id}: tail has ${bytes.length} bytes, expected ${state.tailLength}`);
  return bytes;
}

export async function writeTail(bucket: R2Bucket, id: string, generation: number, bytes: Uint8Array): Promise<void> {
  await bucket.put(keys.uploadTail(id, generation), bytes);
}

export async function deleteTail(bucket: R2Bucket, id: string, generation: number): Promise<void> {
  await bucket.delete(keys.uploadTail(id, generation));
}

/** Removes every object of the session: state and tails. The data object is the caller's. */
export async function deleteUploadObjects(bucket: R2Bucket, id: string): Promise<void> {
  const objects = await listAll(bucket, { prefix: keys.uploadPrefix(id) }, 10_000);
  if (objects.length > 0) await bucket.delete(objects.map((o) => o.key));
}

export async function recordSession(kv: KVNamespace, state: UploadState, ttlSeconds: number): Promise<void> {
  await kv.put(`upload:${state.id}`, JSON.stringify({ repo: state.repo, createdAt: state.createdAt }), {
    expirationTtl: Math.max(60, ttlSeconds),
  });
}

export async function forgetSession(kv: KVNamespace, id: string): Promise<void> {
  await kv.delete(`upload:${id}`);
}
