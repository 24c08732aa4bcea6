// The registry's upload rules: opening, appending, finishing and cancelling blob uploads.
// Bytes are written once, in the session's data object (storage/blob-data.ts): as a multipart
// object repacked from whatever the client sends, or as one plain put when a single request
// carries the whole blob with its length. That object becomes the blob: finishing never
// copies data.
// Digests are checked before anything becomes readable.
import type { Config } from "../config/config";
import { bodyTooLarge, RegistryError } from "../errors";
import { digestBytes, formatDigest, type Digest } from "../oci/digest";
import { parseChunkRange } from "../oci/range";
import { parseContentLength } from "../util/content-length";
import {
  abortBlobData,
  blobDataOf,
  completeBlobData,
  deleteBlobData,
  hashBlobData,
  MAX_SINGLE_PUT_BYTES,
  putWholeBlobData,
} from "../storage/blob-data";
import { getBlobRecord, type BlobRecord } from "../storage/blobs";
import { linkOrFail, publishStoredBlob } from "../storage/blob-links";
import { deleteTail, deleteUploadObjects, writeTail, writeUploadState, type UploadState } from "../storage/uploads";
import { ingest, type IngestResult } from "./ingest";
import { refuseMirrorWrite } from "./write-policy";
import { rangeConflict, readOwnedSession, SessionLock, type SessionIdentity } from "./upload-lock";
import type { Storage } from "../storage/storage";
import type { Deps } from "../storage/deps";
import { listUploadSessions } from "../storage/browse";
import { hasAdminRight, type Identity } from "./identity";

export type { UploadState };

/** A request that carries upload bytes, as it came: the body and its two headers, unparsed,
 *  so that acceptChunk below is the one place that reads them. */
export interface ChunkRequest {
  body: ReadableStream<Uint8Array> | null;
  contentRange: string | null;
  contentLength: string | null;
}

/** A chunk acceptChunk let in, on the terms ingest then holds its body to as it streams. */
interface AcceptedChunk {
  body: ReadableStream<Uint8Array> | null;
  /** Bytes the request promised: Content-Range's span, else Content-Length; null: unknown. */
  expectedLength: number | null;
}

/**
 * The upload chunk rule, in one place for PATCH, the closing PUT and POST ?digest=:
 * - Content-Length must be a number (SIZE_INVALID), and no more than MAX_REQUEST_BODY_BYTES
 *   when that limit is enforced (413, before a byte is read);
 * - Content-Range must parse (416);
 * - in a session, it must start where the upload ends and span exactly Content-Length when
 *   both are sent (416, with the session's Range so the client can resume);
 * - POST ?digest= has no session, so only its Content-Length counts.
 * While the body streams, ingest (registry/ingest.ts) holds it to `expectedLength` and to the
 * body limit; a body without a declared length is held to the limit alone.
 */
export function acceptChunk(config: Config, session: UploadState | null, chunk: ChunkRequest): AcceptedChunk {
  const declared = parseContentLength(chunk.contentLength);
  const limit = config.maxRequestBodyBytes;
  if (limit !== null && declared !== null && declared > limit)
    throw bodyTooLarge(`request body of ${declared} bytes exceeds the limit of ${limit}`);
  const range = chunk.contentRange === null ? null : parseChunkRange(chunk.contentRange);
  if (chunk.contentRange !== null && !range) {
    const detail = `malformed Content-Range: ${chunk.contentRange.slice(0, 100)}`;
    throw session ? rangeConflict(session, detail) : new RegistryError("RANGE_INVALID", detail);
  }
  if (!session || !range) return { body: chunk.body, expectedLength: declared };
  if (range.start !== session.offset)
    throw rangeConflict(session, `chunk starts at ${range.start}, the upload has ${session.offset} bytes`);
  const span = range.end - range.start + 1;
  if (declared !== null && declared !== span)
    throw rangeConflict(session, `Content-Range covers ${span} bytes but Content-Length is ${declared}`);
  return { body: chunk.body, expectedLength: span };
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

export async function startUpload(deps: Deps, repo: string, owner: string): Promise<UploadState> {
  refuseMirrorWrite(deps.config, repo);
  const state = newState(repo, owner, deps.config.partSize);
  const etag = await writeUploadState(deps.store, state, null);
  if (!etag) throw new RegistryError("UNKNOWN", "could not create the upload session");
  return state;
}

export async function getUploadStatus(deps: Deps, who: SessionIdentity): Promise<UploadState> {
  return (await readOwnedSession(deps.store, who, deps.config.uploadMaxAgeSeconds)).state;
}

function ingestOptions(deps: Deps, expectedLength: number | null, lock?: SessionLock) {
  return {
    store: deps.store,
    maxBytes: deps.config.maxRequestBodyBytes,
    expectedLength,
    onProgress: lock ? () => lock.refresh() : undefined,
  };
}

/** Runs `work` under the session lock, releasing it on any failure. */
async function withLock<T>(deps: Deps, who: SessionIdentity, work: (lock: SessionLock) => Promise<T>): Promise<T> {
  const lock = await SessionLock.acquire(deps.store, who, deps.config.uploadMaxAgeSeconds);
  try {
    return await work(lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** Stores what a request brought as the session's new parts and tail. */
async function commitIngest(
  deps: Deps,
  lock: SessionLock,
  before: UploadState,
  result: IngestResult,
): Promise<UploadState> {
  const { state } = result;
  const offset = state.parts.length * state.partSize + result.trailing.length;
  const generation = before.tailGeneration + 1;
  const next: UploadState = {
    ...state,
    offset,
    tailGeneration: generation,
    tailLength: result.trailing.length,
    streamedSha256: before.offset === 0 ? result.streamedSha256 : null,
  };
  let committed = false;
  try {
    if (result.trailing.length > 0) await writeTail(deps.store, state.id, generation, result.trailing);
    committed = await lock.commit(next);
  } finally {
    // Not recorded: what this request stored must not outlive it.
    if (!committed) {
      await deleteTail(deps.store, state.id, generation).catch(() => {});
      await result.abandon().catch(() => {});
    }
  }
  if (!committed) throw rangeConflict(before, "the upload changed while this chunk was written");
  if (before.tailLength > 0) await deleteTail(deps.store, state.id, before.tailGeneration);
  return lock.state;
}

/** PATCH: appends one chunk, streamed or with Content-Range. */
export async function appendChunk(deps: Deps, who: SessionIdentity, request: ChunkRequest): Promise<UploadState> {
  return withLock(deps, who, async (lock) => {
    const before = lock.state;
    const chunk = acceptChunk(deps.config, before, request);
    return ingest(before, chunk.body, ingestOptions(deps, chunk.expectedLength, lock), async (result) => {
      const committed = await commitIngest(deps, lock, before, result);
      if (result.interrupted) throw bodyBrokeOff(committed.offset);
      return committed;
    });
  });
}

/** PUT ?digest=: appends the optional last chunk, verifies the digest and publishes the blob. */
export async function finishUpload(
  deps: Deps,
  who: SessionIdentity,
  digest: Digest,
  request: ChunkRequest,
): Promise<BlobRecord> {
  return withLock(deps, who, async (lock) => {
    const before = lock.state;
    const chunk = acceptChunk(deps.config, before, request);
    const expected = chunk.expectedLength;
    if (before.offset === 0 && chunk.body && fitsOnePut(expected)) {
      try {
        return await storeWholeBlob(deps, before, digest, chunk.body, expected);
      } finally {
        await closeSession(deps, before);
      }
    }
    return ingest(before, chunk.body, ingestOptions(deps, expected, lock), async (result) => {
      if (result.interrupted) {
        const committed = await commitIngest(deps, lock, before, result);
        throw bodyBrokeOff(committed.offset);
      }
      const state = { ...result.state, offset: before.offset + result.received };
      const streamed =
        before.offset === 0 ? result.streamedSha256 : before.offset === state.offset ? before.streamedSha256 : null;
      try {
        return await publishBlob(deps, state, result.trailing, streamed, digest);
      } finally {
        await closeSession(deps, state);
      }
    });
  });
}

/** POST ?digest= with the whole blob: a session that lives only for this request. */
export async function monolithicUpload(
  deps: Deps,
  repo: string,
  owner: string,
  digest: Digest,
  request: ChunkRequest,
): Promise<BlobRecord> {
  refuseMirrorWrite(deps.config, repo);
  const chunk = acceptChunk(deps.config, null, request);
  const state = newState(repo, owner, deps.config.partSize);
  if (chunk.body && fitsOnePut(chunk.expectedLength))
    return storeWholeBlob(deps, state, digest, chunk.body, chunk.expectedLength);
  return ingest(state, chunk.body, ingestOptions(deps, chunk.expectedLength), async (result) => {
    if (result.interrupted) {
      await abortMultipart(deps.store, result.state);
      throw bodyBrokeOff(null);
    }
    const final = { ...result.state, offset: result.received };
    try {
      return await publishBlob(deps, final, result.trailing, result.streamedSha256, digest);
    } catch (error) {
      await abortMultipart(deps.store, final);
      throw error;
    }
  });
}

/** DELETE on a session: cancels it and frees its data at once. */
export async function cancelUpload(deps: Deps, who: SessionIdentity): Promise<void> {
  const lock = await SessionLock.acquire(deps.store, who, deps.config.uploadMaxAgeSeconds);
  await closeSession(deps, lock.state);
}

function abortMultipart(store: Storage, state: UploadState): Promise<void> {
  return abortBlobData(store, state.id, state.multipartId);
}

/** Removes a finished or cancelled session: its multipart (if never completed), state and tails. */
export async function closeSession(deps: Deps, state: UploadState): Promise<void> {
  await abortMultipart(deps.store, state);
  await deleteUploadObjects(deps.store, state.id);
}

function digestMismatch(digest: Digest, actual: string): RegistryError {
  return new RegistryError(
    "DIGEST_INVALID",
    `content digest is ${digest.algorithm}:${actual}, not ${formatDigest(digest)}`,
  );
}

/**
 * Makes the uploaded bytes the blob `digest`: verifies them, completes the multipart object
 * in place (no copy), records the blob once per bucket and links it into the repository.
 * When the bucket already holds the content, the new bytes are dropped (dedupe).
 */
async function publishBlob(
  deps: Deps,
  state: UploadState,
  trailing: Uint8Array,
  streamedSha256: string | null,
  digest: Digest,
): Promise<BlobRecord> {
  const { store } = deps;
  const data = blobDataOf(state.id, state.offset);
  // Known before anything is stored: all bytes in hand, or hashed while they streamed.
  const known =
    state.parts.length === 0
      ? (await digestBytes(digest.algorithm, trailing)).hex
      : digest.algorithm === "sha256"
        ? streamedSha256
        : null;
  if (known !== null && known !== digest.hex) throw digestMismatch(digest, known);
  if (known !== null) {
    const existing = await getBlobRecord(store, digest);
    if (existing) return linkOrFail(store, state.repo, digest, existing);
  }
  await completeBlobData(store, state.id, { multipartId: state.multipartId, parts: state.parts }, trailing);
  if (known === null) {
    const actual = await hashBlobData(store, data, digest.algorithm);
    if (actual !== digest.hex) {
      await deleteBlobData(store, data.dataKey);
      throw digestMismatch(digest, actual ?? "(missing)");
    }
  }
  return publishStoredBlob(store, state.repo, digest, data);
}

function fitsOnePut(length: number | null): length is number {
  return length !== null && length > 0 && length <= MAX_SINGLE_PUT_BYTES;
}

/**
 * One request carries the whole blob with a known length (POST ?digest=, or the closing PUT
 * of an empty session: containerd, oras, helm). The body streams into one R2 object, and R2
 * checks the digest itself before the object exists, so the isolate neither buffers nor
 * hashes a byte, and a wrong digest stores nothing.
 */
async function storeWholeBlob(
  deps: Deps,
  state: UploadState,
  digest: Digest,
  body: ReadableStream<Uint8Array>,
  length: number,
): Promise<BlobRecord> {
  const failure = await putWholeBlobData(deps.store, state.id, body, length, digest);
  if (failure === "digest") throw new RegistryError("DIGEST_INVALID", `content does not match ${formatDigest(digest)}`);
  if (failure === "length")
    throw new RegistryError("SIZE_INVALID", `the body is not the ${length} bytes its Content-Length declared`);
  if (failure === "body") throw bodyBrokeOff(null);
  const data = blobDataOf(state.id, length);
  try {
    return await publishStoredBlob(deps.store, state.repo, digest, data);
  } catch (error) {
    const record = await getBlobRecord(deps.store, digest).catch(() => null);
    if (record?.dataKey !== data.dataKey) await deleteBlobData(deps.store, data.dataKey).catch(() => {});
    throw error;
  }
}

/** A body that broke off before its end: the client's fault, so a 400 and never a 5xx. If
 *  the client is gone, nobody reads it. A session keeps what arrived (`offset`). */
function bodyBrokeOff(offset: number | null): RegistryError {
  const resume = offset === null ? "send the blob again" : `resume the upload at offset ${offset}`;
  return new RegistryError("BLOB_UPLOAD_INVALID", `the request body ended before its declared length; ${resume}`);
}

/** Upload sessions one view lists (the web UI's storage page). */
export const VIEW_UPLOAD_SESSIONS = 20;

/** Upload sessions in progress that `identity` may see, newest first among the first
 *  VIEW_UPLOAD_SESSIONS found: every one for an admin, else those it opened (a session's
 *  owner is the subject that started it). `more` when the listing stopped short. */
export async function listVisibleUploadSessions(
  deps: Deps,
  identity: Identity,
): Promise<{ sessions: UploadState[]; more: boolean }> {
  const { sessions, more } = await listUploadSessions(deps.store, VIEW_UPLOAD_SESSIONS);
  const admin = hasAdminRight(identity);
  return { sessions: sessions.filter((s) => admin || s.owner === identity.subject), more };
}
