// Streams a request body into an upload: repacks arbitrary client chunks into R2 multipart
// parts of one fixed size (R2 needs every part but the last to be equal and >= 5 MiB), and
// hashes the bytes natively on the way when the upload starts at offset 0.
//
// Memory is bounded by PARTS_IN_FLIGHT + 1 part buffers (one filling while the previous ones
// upload) and one READ_BYTES read buffer. Nothing here grows with the blob's size. A whole
// blob with a known length never comes here: it is piped into one R2 put (registry/uploads.ts).
import { RegistryError } from "../errors";
import { toHex } from "../oci/digest";
import { keys } from "../storage/keys";
import type { UploadState } from "../storage/uploads";
import { readTail } from "../storage/uploads";
import type { Storage } from "../storage/storage";
import type { MeteredMultipart } from "../storage/metered";

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
  /** Bytes after the last full part: the old tail plus what did not fill a part. */
  trailing: Uint8Array;
  received: number;
  /** sha256 hex of the whole upload when hashed in one pass from offset 0. */
  streamedSha256: string | null;
  /** Set when the body broke off: what arrived is kept, so the client can resume. */
  interrupted: unknown;
}

/** Parts uploading at once while the next one fills. Each costs one part-sized buffer. */
const PARTS_IN_FLIGHT = 2;

class PartWriter {
  private buffer: Uint8Array;
  private fill = 0;
  /** Buffers whose upload finished, ready to be filled again. */
  private readonly free: Uint8Array[] = [];
  private readonly inFlight: Promise<void>[] = [];

  constructor(
    private readonly store: Storage,
    private state: UploadState,
    initial: Uint8Array,
  ) {
    // One parts array for this request: uploads finishing out of order fill in their etags.
    this.state = { ...state, parts: [...state.parts] };
    this.buffer = new Uint8Array(state.partSize);
    this.buffer.set(initial);
    this.fill = initial.length;
  }

  async write(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(chunk.length - at, this.buffer.length - this.fill);
      this.buffer.set(chunk.subarray(at, at + take), this.fill);
      this.fill += take;
      at += take;
      if (this.fill === this.buffer.length) await this.flushFullPart();
    }
  }

  /** Starts uploading the full buffer and takes a free one to fill next; waits first when
   *  PARTS_IN_FLIGHT uploads are already running, which bounds memory. */
  private async flushFullPart(): Promise<void> {
    if (this.inFlight.length >= PARTS_IN_FLIGHT) await this.inFlight.shift();
    const upload = await this.multipart();
    const full = this.buffer;
    this.buffer = this.free.pop() ?? new Uint8Array(this.state.partSize);
    this.fill = 0;
    const parts = this.state.parts;
    const partNumber = parts.length + 1;
    parts.push({ partNumber, etag: "" });
    this.inFlight.push(
      upload.uploadPart(partNumber, full).then((part) => {
        parts[partNumber - 1] = part;
        this.free.push(full);
      }),
    );
  }

  private async multipart(): Promise<MeteredMultipart> {
    const key = keys.blobData(this.state.id);
    if (this.state.multipartId) return this.store.bucket.resumeMultipartUpload(key, this.state.multipartId);
    const upload = await this.store.bucket.createMultipartUpload(key, { httpMetadata: { contentType: "application/octet-stream" } });
    this.state = { ...this.state, multipartId: upload.uploadId };
    return upload;
  }

  /** Waits for every part in flight; a failed part upload fails the request, and the
   *  session keeps its previous state. */
  async settle(): Promise<{ state: UploadState; trailing: Uint8Array }> {
    await Promise.all(this.inFlight);
    return { state: this.state, trailing: this.buffer.slice(0, this.fill) };
  }
}

/** Bytes per read from a request body: big enough that JavaScript runs a few times per
 *  megabyte instead of once per network chunk (each run leaves promises behind). */
const READ_BYTES = 1024 * 1024;

interface BodyReader {
  /** The next bytes, valid until the following call; null at the end. */
  next(): Promise<Uint8Array | null>;
  cancel(): void;
}

/**
 * Request bodies are byte streams: a BYOB reader fills one reused buffer, READ_BYTES at a
 * time, so a multi-gigabyte body allocates nothing per chunk. Other streams (a Request
 * built in-process) are read chunk by chunk.
 */
function readBody(body: ReadableStream<Uint8Array>): BodyReader {
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
    };
  }
  const reader = byob;
  let scratch = new Uint8Array(READ_BYTES);
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
  };
}

export async function ingest(state: UploadState, body: ReadableStream<Uint8Array> | null, options: IngestOptions): Promise<IngestResult> {
  const tail = await readTail(options.store, state);
  const writer = new PartWriter(options.store, state, tail);
  const hasher = state.offset === 0 ? new crypto.DigestStream("SHA-256") : null;
  const hashWriter = hasher?.getWriter();
  let received = 0;
  let interrupted: unknown = null;
  if (body) {
    const reader = readBody(body);
    try {
      for (;;) {
        const value = await reader.next();
        if (value === null) break;
        received += value.length;
        if (options.maxBytes !== null && received > options.maxBytes) {
          reader.cancel();
          throw new RegistryError("PAYLOAD_TOO_LARGE", `request body exceeds ${options.maxBytes} bytes; send smaller chunks`);
        }
        if (hashWriter) await hashWriter.write(value);
        if (options.onProgress) await options.onProgress();
        await writer.write(value);
      }
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      interrupted = error;
    }
  }
  const settled = await writer.settle();
  let streamedSha256: string | null = null;
  if (hashWriter && hasher && !interrupted) {
    await hashWriter.close();
    streamedSha256 = toHex(await hasher.digest);
  } else if (hashWriter) {
    hashWriter.abort().catch(() => {});
  }
  if (!interrupted && options.expectedLength !== null && received !== options.expectedLength) {
    throw new RegistryError("SIZE_INVALID", `received ${received} bytes, the request declared ${options.expectedLength}`);
  }
  return { state: settled.state, trailing: settled.trailing, received, streamedSha256, interrupted };
}
