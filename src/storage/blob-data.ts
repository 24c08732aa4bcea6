// Blob bytes: the one module that writes, reads back, hashes and drops the object that holds
// a blob's data (`_data/<id>`, keys.ts). The object is named after whoever writes it (its
// data id: an upload session's id, or one pull-through fill's); records name it by its
// `dataKey`, which only storage reads. Three ways in:
// - BlobDataWriter takes bytes in any chunks and repacks them into R2 multipart parts of one
//   size (R2 needs every part but the last equal, and at least 5 MiB in production), with up
//   to `partsInFlight` parts uploading while the next one fills. An upload session resumes
//   it across requests; the pull-through cache uses it for a blob whose length is unknown.
// - With a known length it streams into one R2 put instead (a FixedLengthStream), gathering
//   small chunks into batches so each write to R2 carries about a mebibyte.
// - putWholeBlobData pipes a request body straight into one put that R2 checks against the
//   digest itself: no JavaScript touches the bytes.
// Memory: (partsInFlight + 1) part buffers from the isolate's pool (part-buffers.ts), or one
// batch; never the blob.
import { toHex, webCryptoName, type DigestAlgorithm, type Digest } from "../oci/digest";
import { RegistryError } from "../errors";
import { keys } from "./keys";
import { isolatePartBuffers, type PartBuffers } from "./part-buffers";
import type { BlobRecord } from "./blobs";
import type { Storage } from "./storage";
import type { MeteredMultipart } from "./metered";
import { bucketOf } from "./bindings";

const OBJECT_META = { httpMetadata: { contentType: "application/octet-stream" } };
/** A streamed put's batch: big enough that a write to R2 is not a round trip per network
 *  chunk, small enough to be negligible memory. */
const STREAM_BATCH_BYTES = 1024 * 1024;
/** R2's largest single-request object (5 GiB less 5 MiB); bigger blobs go multipart. */
export const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3 - 5 * 1024 ** 2;

/** A stored part of a multipart upload, as its completion needs it. */
export interface UploadedPart {
  partNumber: number;
  etag: string;
}

/** Where a writer's multipart upload stands: enough to resume it in a later request. */
export interface MultipartProgress {
  multipartId: string | null;
  parts: UploadedPart[];
}

export interface WriterOptions {
  /** Part size for multipart; all parts but the last have exactly this size. */
  partSize: number;
  /** Known total length: the bytes stream into one put instead of multipart. */
  length?: number | null;
  /** Continue this session's multipart upload. */
  resume?: MultipartProgress;
  /** Bytes already received that did not fill a part (a session's tail), read straight into
   *  the writer's first part buffer. */
  initial?: InitialBytes;
  /** Parts uploading at once while the next one fills (0: each part is stored before more
   *  bytes are taken). Each costs one part buffer. */
  partsInFlight?: number;
  /** Hash every byte written with this algorithm (hexDigest at the end). */
  hash?: DigestAlgorithm | null;
  buffers?: PartBuffers;
}

/** Bytes a writer starts with, which it has them put into its own buffer: a session's tail
 *  comes from the pool like every part buffer, never as a copy of its own (up to a part). */
export interface InitialBytes {
  /** Fewer than the part size. */
  length: number;
  /** Puts the `length` bytes at the start of `buffer`; returns the view of it to use from
   *  then on (a BYOB read moves a buffer's memory to a new ArrayBuffer). */
  readInto(buffer: Uint8Array): Promise<Uint8Array>;
}

/** Streams bytes into one object through a FixedLengthStream (R2 needs a known length). */
class StreamedPut {
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly put: Promise<unknown>;
  constructor(store: Storage, dataKey: string, length: number) {
    const stream = new FixedLengthStream(length);
    this.writer = stream.writable.getWriter();
    this.put = bucketOf(store).put(dataKey, stream.readable, OBJECT_META);
    this.put.catch(() => {});
  }
  write(batch: Uint8Array): Promise<void> {
    return this.writer.write(batch);
  }
  async close(): Promise<void> {
    await this.writer.close();
    await this.put;
  }
  async abort(): Promise<void> {
    await this.writer.abort("aborted").catch(() => {});
    await this.put.catch(() => {});
  }
}

export class BlobDataWriter {
  private buffer: Uint8Array;
  private fill = 0;
  private written = 0;
  private multipartId: string | null;
  /** The multipart upload was given in `resume`: its session records it, so abandon() leaves
   *  it for the session's end to free. */
  private readonly resumed: boolean;
  private readonly parts: UploadedPart[];
  private readonly inFlight: Promise<void>[] = [];
  /** Buffers whose part is stored, filled again before any new one is taken: a request
   *  cycles through partsInFlight + 1 buffers however many parts it writes. */
  private readonly spare: Uint8Array[] = [];
  /** Set by settle(): the writer takes no more bytes. */
  private settled = false;
  /** The first part upload that failed: the writer stores nothing more, and settle fails. */
  private failure: { error: unknown } | null = null;
  private readonly streamed: StreamedPut | null;
  private readonly hasher: { stream: DigestStream; writer: WritableStreamDefaultWriter<ArrayBufferView> } | null;
  private readonly buffers: PartBuffers;
  private readonly partsInFlight: number;
  private readonly batchSize: number;

  /** A writer with its first buffer: a part buffer from the isolate's pool (waiting for one
   *  when the pool is spent), or a batch for a streamed put. */
  static async open(store: Storage, dataId: string, options: WriterOptions): Promise<BlobDataWriter> {
    const length = options.length ?? null;
    const streamed = length !== null && length <= MAX_SINGLE_PUT_BYTES && !options.resume;
    const buffers = options.buffers ?? isolatePartBuffers;
    // A streamed put's batches are handed to the stream for good, so they never come from
    // (or go back to) the part buffers.
    const initial = options.initial?.length ?? 0;
    // Checked before a buffer is taken, so a bad session record cannot keep one from the pool.
    if (initial > 0 && initial >= (streamed ? STREAM_BATCH_BYTES : options.partSize))
      throw new RegistryError("UNKNOWN", "a writer's initial bytes must not fill a part");
    let first = streamed ? new Uint8Array(STREAM_BATCH_BYTES) : await buffers.take(options.partSize);
    if (initial > 0) {
      try {
        first = await options.initial!.readInto(first);
      } catch (error) {
        if (!streamed) buffers.give(first, options.partSize);
        throw error;
      }
    }
    return new BlobDataWriter(store, dataId, options, first, initial);
  }

  /** The object the bytes go to, as blob records name it. */
  readonly dataKey: string;

  private constructor(
    private readonly store: Storage,
    private readonly dataId: string,
    options: WriterOptions,
    first: Uint8Array,
    initial: number,
  ) {
    this.dataKey = keys.blobData(dataId);
    const length = options.length ?? null;
    this.streamed =
      length !== null && length <= MAX_SINGLE_PUT_BYTES && !options.resume
        ? new StreamedPut(store, this.dataKey, length)
        : null;
    this.batchSize = this.streamed ? STREAM_BATCH_BYTES : options.partSize;
    this.buffers = options.buffers ?? isolatePartBuffers;
    this.partsInFlight = options.partsInFlight ?? 2;
    this.multipartId = options.resume?.multipartId ?? null;
    this.resumed = this.multipartId !== null;
    // One parts array for this writer: uploads finishing out of order fill in their etags.
    this.parts = [...(options.resume?.parts ?? [])];
    this.buffer = first;
    this.fill = initial;
    const hash = options.hash ? new crypto.DigestStream(webCryptoName(options.hash)) : null;
    this.hasher = hash ? { stream: hash, writer: hash.getWriter() } : null;
  }

  /** Bytes given to write() so far (not counting `initial`). */
  get size(): number {
    return this.written;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.settled || this.buffer.length === 0)
      throw new RegistryError("UNKNOWN", "blob data written after the writer settled");
    if (this.failure) throw this.failure.error;
    this.written += chunk.length;
    if (this.hasher) await this.hasher.writer.write(chunk);
    for (let at = 0; at < chunk.length; ) {
      const take = Math.min(chunk.length - at, this.buffer.length - this.fill);
      this.buffer.set(chunk.subarray(at, at + take), this.fill);
      this.fill += take;
      at += take;
      if (this.fill === this.buffer.length) await this.flushFull();
    }
  }

  /** Sends the full buffer on (a part, or a batch of the streamed put) and takes the next. */
  private async flushFull(): Promise<void> {
    const full = this.buffer;
    this.fill = 0;
    if (this.streamed) {
      // The stream may hold on to what it was given, so a batch is never reused.
      this.buffer = new Uint8Array(this.batchSize);
      return this.streamed.write(full);
    }
    if (this.inFlight.length > this.partsInFlight - 1) await this.inFlight.shift();
    const upload = await this.multipart();
    const partNumber = this.parts.length + 1;
    this.parts.push({ partNumber, etag: "" });
    const sent = upload
      .uploadPart(partNumber, full)
      .then(
        (part) => {
          this.parts[partNumber - 1] = part;
        },
        (error: unknown) => {
          this.failure ??= { error };
        },
      )
      .finally(() => this.keepOrGive(full));
    this.inFlight.push(sent);
    if (this.partsInFlight === 0) await this.inFlight.shift();
    // The part is on its way before this waits for a buffer, and while it waits the writer
    // holds no buffer of its own (`full` is the upload's now).
    this.buffer = new Uint8Array(0);
    this.buffer = await this.nextBuffer();
  }

  /** A stored part's buffer stays as this writer's one spare, else goes back to the pool at
   *  once: a writer whose client sends slowly holds no more buffers than it is using. */
  private keepOrGive(buffer: Uint8Array): void {
    if (this.spare.length === 0) this.spare.push(buffer);
    else this.buffers.give(buffer, this.batchSize);
  }

  /**
   * A spare buffer, else a free one from the pool, else this writer's own part in flight
   * coming back; only a writer with nothing in flight waits on the pool. So buffers never
   * sit in writers that all wait on the pool for each other.
   */
  private async nextBuffer(): Promise<Uint8Array> {
    const ready = this.spare.pop() ?? this.buffers.tryTake(this.batchSize);
    if (ready) return ready;
    if (this.inFlight.length === 0) return this.buffers.take(this.batchSize);
    await this.inFlight.shift();
    return this.spare.pop()!;
  }

  private async multipart(): Promise<MeteredMultipart> {
    if (this.multipartId) return bucketOf(this.store).resumeMultipartUpload(this.dataKey, this.multipartId);
    const upload = await bucketOf(this.store).createMultipartUpload(this.dataKey, OBJECT_META);
    this.multipartId = upload.uploadId;
    return upload;
  }

  /**
   * For a session that goes on in a later request: waits for every part in flight and
   * returns where the multipart upload stands, with the bytes that did not fill a part (the
   * caller keeps them as the session's tail). `trailing` is a view of the writer's part
   * buffer, not a copy: it stays valid until release(), which the caller must call. A failed
   * part fails this (and the buffers are given back).
   */
  async settle(): Promise<MultipartProgress & { trailing: Uint8Array }> {
    this.settled = true;
    await Promise.allSettled(this.inFlight.splice(0));
    for (const buffer of this.spare.splice(0)) this.buffers.give(buffer, this.batchSize);
    // Never report parts as stored when one was not: the session keeps its previous state.
    if (this.failure) {
      this.release();
      throw this.failure.error;
    }
    return { multipartId: this.multipartId, parts: [...this.parts], trailing: this.buffer.subarray(0, this.fill) };
  }

  /** Gives every part buffer back (settle's `trailing` with them); the writer takes no more
   *  bytes after this. Safe to call more than once. */
  release(): void {
    if (!this.streamed && this.buffer.length > 0) this.buffers.give(this.buffer, this.batchSize);
    for (const buffer of this.spare.splice(0)) this.buffers.give(buffer, this.batchSize);
    this.buffer = new Uint8Array(0);
    this.fill = 0;
  }

  /** Stores what is left and completes the object. */
  async finish(): Promise<void> {
    if (this.streamed) {
      if (this.fill > 0) await this.streamed.write(this.buffer.subarray(0, this.fill));
      return this.streamed.close();
    }
    const { multipartId, parts, trailing } = await this.settle();
    try {
      await completeBlobData(this.store, this.dataId, { multipartId, parts }, trailing);
    } finally {
      this.release();
    }
  }

  /** The hex digest of every byte written; only when the writer was opened with `hash`. */
  async hexDigest(): Promise<string> {
    if (!this.hasher) throw new RegistryError("UNKNOWN", "hexDigest: the writer was not opened with a hash");
    await this.hasher.writer.close();
    return toHex(await this.hasher.stream.digest);
  }

  /**
   * For a request that fails: gives the buffers back and aborts the multipart upload if this
   * writer created it, since no session records it and nothing else would ever free it (R2
   * keeps an unfinished upload's parts for 7 days). Parts added to a resumed upload belong to
   * its session, which frees them when it is cancelled, finished or expires. Safe after
   * settle().
   */
  async abandon(): Promise<void> {
    await this.stop();
    if (!this.resumed) await abortBlobData(this.store, this.dataId, this.multipartId);
  }

  /** Ends the hash, the streamed put and the parts in flight, and gives the buffers back. */
  private async stop(): Promise<void> {
    this.dropHash();
    await this.streamed?.abort();
    await Promise.allSettled(this.inFlight.splice(0));
    this.release();
  }

  /** Stops the hash. An aborted DigestStream rejects its digest too, with no reason, and
   *  nothing will read that digest: without the catch it surfaced as an unhandled rejection
   *  after every refused PATCH that was being hashed. */
  private dropHash(): void {
    if (!this.hasher) return;
    this.hasher.stream.digest.catch(() => {});
    this.hasher.writer.abort().catch(() => {});
  }

  /** Drops whatever was written: the multipart upload, the object, the hash. */
  async abort(): Promise<void> {
    await this.stop();
    await abortBlobData(this.store, this.dataId, this.multipartId);
    // Best effort: bytes no record names are freed by the collector's data walk anyway.
    await deleteBlobData(this.store, this.dataKey).catch(() => {});
  }
}

/** The bytes stored under `dataId`, `size` of them, as a record to read, hash or publish. */
export function blobDataOf(dataId: string, size: number): BlobRecord {
  return { dataKey: keys.blobData(dataId), size };
}

/** Makes the object of `dataId` whole: one put when no part was stored, else the last part
 *  and the multipart completion. No byte is copied inside R2. */
export async function completeBlobData(
  store: Storage,
  dataId: string,
  progress: MultipartProgress,
  trailing: Uint8Array,
): Promise<void> {
  const dataKey = keys.blobData(dataId);
  if (progress.parts.length === 0 || progress.multipartId === null) {
    await bucketOf(store).put(dataKey, trailing, OBJECT_META);
    return;
  }
  const upload = bucketOf(store).resumeMultipartUpload(dataKey, progress.multipartId);
  const parts = [...progress.parts];
  if (trailing.length > 0) parts.push(await upload.uploadPart(parts.length + 1, trailing));
  await upload.complete(parts);
}

/** Why a whole-body put failed, in the registry's terms: the content does not match the
 *  digest, the body ended before or ran past its length, or reading the body failed (the
 *  client cut it short or went away). */
export type WholePutFailure = "digest" | "length" | "body";

/**
 * Pipes a body of known length into one object. R2 checks the digest (the put's
 * sha256/sha512 option) before the object exists; FixedLengthStream fails a body that ends
 * early or runs long. Returns the failure kind, or null when stored.
 */
export async function putWholeBlobData(
  store: Storage,
  dataId: string,
  body: ReadableStream<Uint8Array>,
  length: number,
  digest: Digest,
): Promise<WholePutFailure | null> {
  const sized = new FixedLengthStream(length);
  const piped = body.pipeTo(sized.writable).catch(() => {});
  try {
    await bucketOf(store).put(keys.blobData(dataId), sized.readable, {
      ...OBJECT_META,
      [digest.algorithm]: digest.hex,
    });
    return null;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // R2 refuses a put whose checksum option differs from the bytes with error 10037.
    if (message.includes("10037") || /checksum you specified did not match/i.test(message)) return "digest";
    if (/FixedLengthStream|expected bytes|too many bytes/i.test(message)) return "length";
    await piped;
    if (await streamErrored(body)) return "body";
    throw error;
  }
}

/** Whether the body failed on its own, as opposed to being cancelled by a failing put. Call
 *  once the pipe has let go of it: an errored stream's reader rejects `closed`, a cancelled
 *  one resolves it. */
async function streamErrored(body: ReadableStream<Uint8Array>): Promise<boolean> {
  try {
    await body.getReader().closed;
    return false;
  } catch {
    return true;
  }
}

/** Hashes a stored object by streaming it through the runtime's native DigestStream: for an
 *  upload that arrived in several requests, which no single request saw whole. Null when
 *  the object is missing. */
export async function hashBlobData(
  store: Storage,
  data: BlobRecord,
  algorithm: DigestAlgorithm,
): Promise<string | null> {
  const body = await readBlobData(store, data);
  if (!body) return null;
  const hasher = new crypto.DigestStream(webCryptoName(algorithm));
  await body.pipeTo(hasher);
  return toHex(await hasher.digest);
}

/** The most bytes one R2 get of a read asks for. A read of more is a sequence of ranged gets,
 *  each streamed to its end before the next one's bytes flow. Why: local R2 (Miniflare)
 *  assembles a multipart object by piping each part through a JavaScript stream into a native
 *  one that takes every chunk at once, so a single get of a 1 GiB multipart object queued up
 *  to the whole object in its isolate when the client read slower than the disk (984-1,122 MiB
 *  measured, docs/local-runtime.md). With windows it holds at most the window being read and
 *  the one asked for next. Production R2 streams any get with backpressure; there a window
 *  costs one more class B operation and subrequest per 16 MiB served (64 for a 1 GiB pull
 *  instead of 1), and asking for the next window while the current one streams keeps R2's
 *  time to first byte out of the transfer. */
export const READ_WINDOW_BYTES = 16 * 1024 * 1024;
/** Gets one read may make: well under the 1,000 subrequests a Free-plan request may send to
 *  Cloudflare services. Reads over 8 GiB use proportionally larger windows. */
export const MAX_READ_WINDOWS = 500;

export interface ByteWindow {
  offset: number;
  length: number;
}

/** The windows [offset, offset + length) is read in, in order. */
export function readWindows(offset: number, length: number): ByteWindow[] {
  const size = Math.max(READ_WINDOW_BYTES, Math.ceil(length / MAX_READ_WINDOWS));
  const windows: ByteWindow[] = [];
  for (let at = offset; at < offset + length; at += size)
    windows.push({ offset: at, length: Math.min(size, offset + length - at) });
  return windows;
}

/** A blob's bytes, whole or a range; null when the object is missing. Up to one window comes
 *  from a single get (the common case: one R2 call, as before). A longer read streams its
 *  windows one after the other into one FixedLengthStream: the runtime pipes each get's body
 *  natively (no JavaScript touches a chunk), and the response keeps its known length. A
 *  window that fails (the object deleted mid-read) errors the stream, so the client sees a
 *  cut body, never a short one that looks whole. */
export async function readBlobData(
  store: Storage,
  data: BlobRecord,
  range?: ByteWindow,
): Promise<ReadableStream | null> {
  const wanted = range ?? { offset: 0, length: data.size };
  const windows = readWindows(wanted.offset, wanted.length);
  if (windows.length <= 1) {
    const object = await bucketOf(store).get(data.dataKey, range ? { range } : undefined);
    return object ? object.body : null;
  }
  const first = await bucketOf(store).get(data.dataKey, { range: windows[0]! });
  if (!first) return null;
  const joined = new FixedLengthStream(wanted.length);
  void pipeWindows(store, data.dataKey, first.body, windows.slice(1), joined.writable);
  return joined.readable;
}

/** Pipes `firstBody`, then each window of `rest`, into `into`; the get of each window is made
 *  while the one before streams, so only its first bytes wait (one window ahead, no more). */
async function pipeWindows(
  store: Storage,
  dataKey: string,
  firstBody: ReadableStream,
  rest: ByteWindow[],
  into: WritableStream,
): Promise<void> {
  const ask = (window: ByteWindow | undefined) => {
    const asked = window ? bucketOf(store).get(dataKey, { range: window }) : Promise.resolve(null);
    // Awaited in turn below; until then, a failure is not an unhandled rejection.
    asked.catch(() => {});
    return asked;
  };
  let next = ask(rest[0]);
  try {
    await firstBody.pipeTo(into, { preventClose: true });
    for (let i = 0; i < rest.length; i++) {
      const object = await next;
      next = ask(rest[i + 1]);
      if (!object) throw new Error(`blob data ${dataKey} vanished during a read`);
      await object.body.pipeTo(into, { preventClose: true });
    }
    await into.close();
  } catch (error) {
    // The reader went away (a client that hung up) or R2 failed: end the stream, and let go
    // of the window asked for ahead.
    await into.abort(error).catch(() => {});
    await next.then((object) => object?.body.cancel()).catch(() => {});
  }
}

/** Aborts the multipart upload of `dataId` that was never completed. Best effort: R2 aborts
 *  abandoned uploads itself after 7 days. */
export async function abortBlobData(store: Storage, dataId: string, multipartId: string | null): Promise<void> {
  if (!multipartId) return;
  await bucketOf(store)
    .resumeMultipartUpload(keys.blobData(dataId), multipartId)
    .abort()
    .catch(() => {});
}

export async function deleteBlobData(store: Storage, dataKey: string): Promise<void> {
  await bucketOf(store).delete(dataKey);
}
