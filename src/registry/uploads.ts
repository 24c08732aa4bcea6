// The registry's upload rules: opening, appending, finishing and cancelling blob uploads.
// Bytes are written once, into the multipart object of the session (keys.blobData), and that
// object becomes the blob: finishing never copies data. Digests are checked before anything
// becomes readable.
import type { Config } from "../config";
import { RegistryError } from "../errors";
import { digestBytes, formatDigest, type Digest } from "../oci/digest";
import type { ByteRange } from "../oci/range";
import { createBlobRecord, getBlobRecord, type BlobRecord } from "../storage/blobs";
import { linkBlobVerified } from "./blob-links";
import { keys } from "../storage/keys";
import {
  deleteTail,
  deleteUploadObjects,
  forgetSession,
  recordSession,
  writeTail,
  writeUploadState,
  type UploadState,
} from "../storage/uploads";
import { ingest, type IngestResult } from "./ingest";
import { rangeConflict, readOwnedSession, SessionLock, type SessionIdentity } from "./upload-lock";
import { hashObject } from "./hash-object";

export interface UploadDeps {
  bucket: R2Bucket;
  kv: KVNamespace;
  config: Config;
}

export interface Chunk {
  body: ReadableStream<Uint8Array> | null;
  /** Content-Range of the chunk, when the client sent one. */
  range: ByteRange | null;
  contentLength: number | null;
}

function newState(repo: string, owner: string, partSize: number): UploadState {
  const now = Date.now();
  return {
    id: crypto.randomUUID(),
    repo,
    owner,
    createdAt: now,
    updatedAt: now,
    offset: 0,
    partSize,
    multipartId: null,
    parts: [],
    tailGeneration: 0,
    tailLength: 0,
    streamedSha256: null,
    lock: null,
  };
}

export async function startUpload(deps: UploadDeps, repo: string, owner: string): Promise<UploadState> {
  const state = newState(repo, owner, deps.config.partSize);
  const etag = await writeUploadState(deps.bucket, state, null);
  if (!etag) throw new RegistryError("UNKNOWN", "could not create the upload session");
  await recordSession(deps.kv, state, deps.config.uploadMaxAgeSeconds);
  return state;
}

export async function getUploadStatus(deps: UploadDeps, who: SessionIdentity): Promise<UploadState> {
  return (await readOwnedSession(deps.bucket, who, deps.config.uploadMaxAgeSeconds)).state;
}

/** Checks a chunk's Content-Range against the session and returns the length it promises. */
function expectedChunkLength(state: UploadState, chunk: Chunk): number | null {
  if (!chunk.range) return chunk.contentLength;
  if (chunk.range.start !== state.offset) {
    throw rangeConflict(state, `chunk starts at ${chunk.range.start}, the upload has ${state.offset} bytes`);
  }
  const length = chunk.range.end - chunk.range.start + 1;
  if (chunk.contentLength !== null && chunk.contentLength !== length) {
    throw rangeConflict(state, `Content-Range covers ${length} bytes but Content-Length is ${chunk.contentLength}`);
  }
  return length;
}

function ingestOptions(deps: UploadDeps, expectedLength: number | null, lock?: SessionLock) {
  return {
    bucket: deps.bucket,
    maxBytes: deps.config.maxRequestBodyBytes,
    expectedLength,
    onProgress: lock ? () => lock.refresh() : undefined,
  };
}

/** Runs `work` under the session lock, releasing it on any failure. */
async function withLock<T>(deps: UploadDeps, who: SessionIdentity, work: (lock: SessionLock) => Promise<T>): Promise<T> {
  const lock = await SessionLock.acquire(deps.bucket, who, deps.config.uploadMaxAgeSeconds);
  try {
    return await work(lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** Stores what a request brought as the session's new parts and tail. */
async function commitIngest(deps: UploadDeps, lock: SessionLock, before: UploadState, result: IngestResult): Promise<UploadState> {
  const { state } = result;
  const offset = state.parts.length * state.partSize + result.trailing.length;
  const generation = before.tailGeneration + 1;
  if (result.trailing.length > 0) await writeTail(deps.bucket, state.id, generation, result.trailing);
  const next: UploadState = {
    ...state,
    offset,
    tailGeneration: generation,
    tailLength: result.trailing.length,
    streamedSha256: before.offset === 0 ? result.streamedSha256 : null,
  };
  if (!(await lock.commit(next))) {
    await deleteTail(deps.bucket, state.id, generation);
    throw rangeConflict(before, "the upload changed while this chunk was written");
  }
  if (before.tailLength > 0) await deleteTail(deps.bucket, state.id, before.tailGeneration);
  return lock.state;
}

/** PATCH: appends one chunk, streamed or with Content-Range. */
export async function appendChunk(deps: UploadDeps, who: SessionIdentity, chunk: Chunk): Promise<UploadState> {
  return withLock(deps, who, async (lock) => {
    const before = lock.state;
    const expected = expectedChunkLength(before, chunk);
    const result = await ingest(before, chunk.body, ingestOptions(deps, expected, lock));
    const committed = await commitIngest(deps, lock, before, result);
    if (result.interrupted) throw result.interrupted;
    return committed;
  });
}

/** PUT ?digest=: appends the optional last chunk, verifies the digest and publishes the blob. */
export async function finishUpload(deps: UploadDeps, who: SessionIdentity, digest: Digest, chunk: Chunk): Promise<BlobRecord> {
  return withLock(deps, who, async (lock) => {
    const before = lock.state;
    const expected = expectedChunkLength(before, chunk);
    const result = await ingest(before, chunk.body, ingestOptions(deps, expected, lock));
    if (result.interrupted) {
      await commitIngest(deps, lock, before, result);
      throw result.interrupted;
    }
    const state = { ...result.state, offset: before.offset + result.received };
    const streamed = before.offset === 0 ? result.streamedSha256 : before.offset === state.offset ? before.streamedSha256 : null;
    try {
      return await publishBlob(deps, state, result.trailing, streamed, digest);
    } finally {
      await closeSession(deps, state);
    }
  });
}

/** POST ?digest= with the whole blob: a session that lives only for this request. */
export async function monolithicUpload(deps: UploadDeps, repo: string, owner: string, digest: Digest, chunk: Chunk): Promise<BlobRecord> {
  const state = newState(repo, owner, deps.config.partSize);
  const result = await ingest(state, chunk.body, ingestOptions(deps, chunk.contentLength));
  if (result.interrupted) {
    await abortMultipart(deps.bucket, result.state);
    throw result.interrupted;
  }
  const final = { ...result.state, offset: result.received };
  try {
    return await publishBlob(deps, final, result.trailing, result.streamedSha256, digest);
  } catch (error) {
    await abortMultipart(deps.bucket, final);
    throw error;
  }
}

/** DELETE on a session: cancels it and frees its data at once. */
export async function cancelUpload(deps: UploadDeps, who: SessionIdentity): Promise<void> {
  const lock = await SessionLock.acquire(deps.bucket, who, deps.config.uploadMaxAgeSeconds);
  await closeSession(deps, lock.state);
}

async function abortMultipart(bucket: R2Bucket, state: UploadState): Promise<void> {
  if (!state.multipartId) return;
  await bucket.resumeMultipartUpload(keys.blobData(state.id), state.multipartId).abort().catch(() => {});
}

/** Removes a finished or cancelled session: its multipart (if never completed), tails, record. */
export async function closeSession(deps: UploadDeps, state: UploadState): Promise<void> {
  await abortMultipart(deps.bucket, state);
  await deleteUploadObjects(deps.bucket, state.id);
  await forgetSession(deps.kv, state.id);
}

function digestMismatch(digest: Digest, actual: string): RegistryError {
  return new RegistryError("DIGEST_INVALID", `content digest is ${digest.algorithm}:${actual}, not ${formatDigest(digest)}`);
}

/**
 * Makes the uploaded bytes the blob `digest`: verifies them, completes the multipart object
 * in place (no copy), records the blob once per bucket and links it into the repository.
 * When the bucket already holds the content, the new bytes are dropped (dedupe).
 */
async function publishBlob(deps: UploadDeps, state: UploadState, trailing: Uint8Array, streamedSha256: string | null, digest: Digest): Promise<BlobRecord> {
  const { bucket } = deps;
  const dataKey = keys.blobData(state.id);
  let record: BlobRecord = { dataKey, size: state.offset };
  if (state.parts.length === 0) {
    const actual = await digestBytes(digest.algorithm, trailing);
    if (actual.hex !== digest.hex) throw digestMismatch(digest, actual.hex);
    const existing = await getBlobRecord(bucket, digest);
    if (existing) return linkExisting(deps, state, digest, existing);
    await bucket.put(dataKey, trailing, { httpMetadata: { contentType: "application/octet-stream" } });
  } else {
    const known = digest.algorithm === "sha256" ? streamedSha256 : null;
    if (known !== null && known !== digest.hex) throw digestMismatch(digest, known);
    if (known !== null) {
      const existing = await getBlobRecord(bucket, digest);
      if (existing) return linkExisting(deps, state, digest, existing);
    }
    const upload = bucket.resumeMultipartUpload(dataKey, state.multipartId!);
    const parts = [...state.parts];
    if (trailing.length > 0) parts.push(await upload.uploadPart(parts.length + 1, trailing));
    await upload.complete(parts);
    if (known === null) {
      const actual = await hashObject(bucket, dataKey, digest.algorithm);
      if (actual !== digest.hex) {
        await bucket.delete(dataKey);
        throw digestMismatch(digest, actual);
      }
    }
  }
  record = await createBlobRecord(bucket, digest, record);
  if (record.dataKey !== dataKey) await bucket.delete(dataKey);
  return linkOrFail(bucket, state.repo, digest, record);
}

async function linkExisting(deps: UploadDeps, state: UploadState, digest: Digest, existing: BlobRecord): Promise<BlobRecord> {
  return linkOrFail(deps.bucket, state.repo, digest, existing);
}

/** The collector may delete a record between its lookup and the link (registry/blob-links.ts). */
async function linkOrFail(bucket: R2Bucket, repo: string, digest: Digest, record: BlobRecord): Promise<BlobRecord> {
  const linked = await linkBlobVerified(bucket, repo, digest, record);
  if (!linked) throw new RegistryError("UNAVAILABLE", "the blob was garbage-collected while it was linked; push it again");
  return linked;
}
