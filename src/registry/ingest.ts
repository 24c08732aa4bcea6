// Streams a request body into an upload session: reads it READ_BYTES at a time, refuses it
// past the body limit, keeps the session's lock alive, and hands the bytes to the blob-data
// writer (storage/blob-data.ts), which repacks them into multipart parts of the session's
// part size and hashes them natively when the upload starts at offset 0.
//
// Memory: the writer's part buffers (storage/part-buffers.ts) and one READ_BYTES read buffer,
// both from the isolate's pools (util/memory-budget.ts). The read buffer is taken before the
// part buffers, so whoever holds a part buffer can always go on reading: no deadlock. The
// session's old tail is streamed into the first part buffer, and the new tail is handed to
// the caller as a view of the last one, valid only inside the caller's `use`: a tail (up to
// a part) never has a copy of its own.
// Nothing here grows with the blob's size. A whole blob with a known length never comes
// here: it is piped into one R2 put (registry/uploads.ts).
import { bodyTooLarge, RegistryError } from "../errors";
import { BlobDataWriter } from "../storage/blob-data";
import type { UploadState } from "../storage/uploads";
import { readTailInto } from "../storage/uploads";
import { READ_BYTES, readBuffers } from "../util/memory-budget";
import type { Storage } from "../storage/storage";

export interface IngestOptions {
  store: Storage;
  /** Refuse the request (413) once more than this many bytes arrive. */
  maxBytes: number | null;
  /** Bytes the request promises (Content-Length or Content-Range), checked at the end. */
  expectedLength: number | null;
  /** Called as bytes arrive; the session keeps its lock's lease alive here (it writes only
   *  when the lease is old enough, so most calls cost nothing). */
  onProgress?: () => Promise<void>;
}

export interface IngestResult {
  /** The session with new full parts recorded; offset and tail not yet updated. */
  state: UploadState;
  /** Bytes after the last full part: the old tail plus what did not fill a part. A view of a
   *  pooled part buffer, valid until `use` returns. */
  trailing: Uint8Array;
  received: number;
  /** sha256 hex of the whole upload when hashed in one pass from offset 0. */
  streamedSha256: string | null;
  /** Set when reading the body failed (cut short, connection lost): what arrived is kept,
   *  so the client can resume. */
  interrupted: unknown;
  /** For a caller that cannot record `state` after all: drops the multipart upload if this
   *  request created it (storage/blob-data.ts abandon()). */
  abandon(): Promise<void>;
}

interface BodyReader {
  /** The next bytes, valid until the following call; null at the end. */
  next(): Promise<Uint8Array | null>;
  cancel(): void;
  /** Gives the read buffer back to the isolate's pool; safe to call more than once. */
  close(): void;
}

/**
 * Request bodies are byte streams: a BYOB reader fills one reused buffer, READ_BYTES at a
 * time, so a multi-gigabyte body allocates nothing per chunk. Other streams (a Request
 * built in-process) are read chunk by chunk.
 */
async function readBody(body: ReadableStream<Uint8Array>): Promise<BodyReader> {
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    const reader = body.getReader();
    return {
      next: async () => {
        const { done, value } = await reader.read();
        return done ? null : value;
      },
      cancel: () => void reader.cancel().catch(() => {}),
      close: () => {},
    };
  }
  const reader = byob;
  let scratch = await readBuffers.acquire(READ_BYTES);
  let closed = false;
  return {
    async next() {
      for (;;) {
        const result = await reader.readAtLeast(READ_BYTES, scratch);
        const value = result.value as Uint8Array | undefined;
        // The read transferred the buffer: the view it returned is the buffer from now on.
        if (value) scratch = new Uint8Array(value.buffer as ArrayBuffer, 0, READ_BYTES);
        if (value && value.length > 0) return value;
        if (result.done) return null;
      }
    },
    cancel: () => void reader.cancel().catch(() => {}),
    close: () => {
      if (!closed) readBuffers.release(scratch, READ_BYTES);
      closed = true;
    },
  };
}

/** Streams `body` into the session, then runs `use` on the result (to record or publish
 *  it) while the part buffer holding `trailing` is still leased; gives it back after. */
export async function ingest<T>(
  state: UploadState,
  body: ReadableStream<Uint8Array> | null,
  options: IngestOptions,
  use: (result: IngestResult) => Promise<T>,
): Promise<T> {
  // The read buffer before any part buffer (see the top of this file).
  const reader = body ? await readBody(body) : null;
  let writer: BlobDataWriter | null = null;
  try {
    writer = await BlobDataWriter.open(options.store, state.id, {
      partSize: state.partSize,
      resume: { multipartId: state.multipartId, parts: state.parts },
      initial: { length: state.tailLength, readInto: (buffer) => readTailInto(options.store, state, buffer) },
      hash: state.offset === 0 ? "sha256" : null,
    });
    const result = await ingestWith(reader, writer, state, options);
    reader?.close(); // the body is read: its buffer is not needed while `use` stores the tail
    return await use(result);
  } finally {
    reader?.close();
    writer?.release();
  }
}

async function ingestWith(
  reader: BodyReader | null,
  writer: BlobDataWriter,
  state: UploadState,
  options: IngestOptions,
): Promise<IngestResult> {
  try {
    const interrupted = reader ? await moveBodyIntoWriter(reader, writer, options) : null;
    const settled = await writer.settle();
    const received = writer.size;
    const streamedSha256 = state.offset === 0 && !interrupted ? await writer.hexDigest() : null;
    if (!interrupted && options.expectedLength !== null && received !== options.expectedLength) {
      throw new RegistryError(
        "SIZE_INVALID",
        `received ${received} bytes, the request declared ${options.expectedLength}`,
      );
    }
    const next: UploadState = { ...state, multipartId: settled.multipartId, parts: settled.parts };
    const abandon = () => writer.abandon();
    return { state: next, trailing: settled.trailing, received, streamedSha256, interrupted, abandon };
  } catch (error) {
    // A refused body (413), a wrong length or a failed part: the session keeps its previous
    // state, so a multipart upload this request started is aborted now, never left behind.
    await writer.abandon().catch(() => {});
    throw error;
  }
}

/** Moves the body into the writer. Returns the error of a failed read (a body cut short, a
 *  connection lost: the client's doing), or null at the body's end. A failed write is
 *  storage's, and is thrown: the request then fails as a 5xx. */
async function moveBodyIntoWriter(
  reader: BodyReader,
  writer: BlobDataWriter,
  options: IngestOptions,
): Promise<unknown> {
  for (;;) {
    let value: Uint8Array | null;
    try {
      value = await reader.next();
    } catch (error) {
      return error ?? new Error("request body failed");
    }
    if (value === null) return null;
    if (options.maxBytes !== null && writer.size + value.length > options.maxBytes) {
      reader.cancel();
      throw bodyTooLarge(`request body exceeds ${options.maxBytes} bytes`);
    }
    if (options.onProgress) await options.onProgress();
    await writer.write(value);
  }
}
