// Where a pulled-through blob's bytes go while they stream to the client: one R2 object at
// _data/<id>, hashed on the way. With a known length, one put through a FixedLengthStream;
// without, R2 multipart parts of the configured size (R2 refuses a put of unknown length).
// Memory stays at one chunk, or one part buffer, whatever the blob's size.
import { toHex, webCryptoName, type Digest } from "../oci/digest";
import { keys } from "../storage/keys";
import type { Storage } from "../storage/storage";
import type { MeteredMultipart } from "../storage/metered";

export interface BlobSink {
  readonly dataKey: string;
  write(chunk: Uint8Array): Promise<void>;
  /** Completes the object; returns the size written and the hex digest of the bytes. */
  finish(): Promise<{ size: number; hex: string }>;
  /** Drops whatever was written. */
  abort(): Promise<void>;
}

const OBJECT_META = { httpMetadata: { contentType: "application/octet-stream" } };

class Hasher {
  private readonly stream: DigestStream;
  private readonly writer: WritableStreamDefaultWriter<ArrayBuffer | ArrayBufferView>;
  size = 0;
  constructor(digest: Digest) {
    this.stream = new crypto.DigestStream(webCryptoName(digest.algorithm));
    this.writer = this.stream.getWriter();
  }
  async write(chunk: Uint8Array): Promise<void> {
    this.size += chunk.length;
    await this.writer.write(chunk);
  }
  async hex(): Promise<string> {
    await this.writer.close();
    return toHex(await this.stream.digest);
  }
}

class FixedLengthSink implements BlobSink {
  private readonly hasher: Hasher;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly put: Promise<R2Object | null>;
  constructor(private readonly store: Storage, readonly dataKey: string, digest: Digest, length: number) {
    this.hasher = new Hasher(digest);
    const stream = new FixedLengthStream(length);
    this.writer = stream.writable.getWriter();
    this.put = store.bucket.put(dataKey, stream.readable, OBJECT_META);
    this.put.catch(() => {});
  }
  async write(chunk: Uint8Array): Promise<void> {
    await Promise.all([this.hasher.write(chunk), this.writer.write(chunk)]);
  }
  async finish(): Promise<{ size: number; hex: string }> {
    await this.writer.close();
    await this.put;
    return { size: this.hasher.size, hex: await this.hasher.hex() };
  }
  async abort(): Promise<void> {
    await this.writer.abort("aborted").catch(() => {});
    await this.put.catch(() => {});
    await this.store.bucket.delete(this.dataKey).catch(() => {});
  }
}

class MultipartSink implements BlobSink {
  private readonly hasher: Hasher;
  private readonly buffer: Uint8Array;
  private fill = 0;
  private upload: Promise<MeteredMultipart> | null = null;
  private readonly parts: R2UploadedPart[] = [];
  constructor(private readonly store: Storage, readonly dataKey: string, digest: Digest, partSize: number) {
    this.hasher = new Hasher(digest);
    this.buffer = new Uint8Array(partSize);
  }
  private multipart(): Promise<MeteredMultipart> {
    this.upload ??= this.store.bucket.createMultipartUpload(this.dataKey, OBJECT_META);
    return this.upload;
  }
  private async flush(): Promise<void> {
    const upload = await this.multipart();
    this.parts.push(await upload.uploadPart(this.parts.length + 1, this.buffer.slice(0, this.fill)));
    this.fill = 0;
  }
  async write(chunk: Uint8Array): Promise<void> {
    await this.hasher.write(chunk);
    for (let at = 0; at < chunk.length; ) {
      const take = Math.min(chunk.length - at, this.buffer.length - this.fill);
      this.buffer.set(chunk.subarray(at, at + take), this.fill);
      this.fill += take;
      at += take;
      if (this.fill === this.buffer.length) await this.flush();
    }
  }
  async finish(): Promise<{ size: number; hex: string }> {
    if (this.parts.length === 0) {
      // Smaller than one part: a single put, no multipart needed.
      await this.store.bucket.put(this.dataKey, this.buffer.slice(0, this.fill), OBJECT_META);
    } else {
      if (this.fill > 0) await this.flush();
      await (await this.multipart()).complete(this.parts);
    }
    return { size: this.hasher.size, hex: await this.hasher.hex() };
  }
  async abort(): Promise<void> {
    if (this.upload) await (await this.upload).abort().catch(() => {});
    await this.store.bucket.delete(this.dataKey).catch(() => {});
  }
}

export function openBlobSink(store: Storage, digest: Digest, length: number | null, partSize: number): BlobSink {
  const dataKey = keys.blobData(`proxy-${crypto.randomUUID()}`);
  return length === null ? new MultipartSink(store, dataKey, digest, partSize) : new FixedLengthSink(store, dataKey, digest, length);
}
