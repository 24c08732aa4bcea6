// The R2 bucket and KV namespace as the storage modules see them: the same calls, each
// counted on the request's (or collector step's) Meter before it is made. Only the calls the
// registry uses are here, so a new kind of call has to be added, and classed, on purpose.
import { forgetLinks } from "./link-cache";
import type { Meter } from "./meter";

type PutValue = ReadableStream | ArrayBuffer | ArrayBufferView | string | null | Blob;

export class MeteredMultipart {
  constructor(
    private readonly upload: R2MultipartUpload,
    private readonly meter: Meter,
  ) {}

  get uploadId(): string {
    return this.upload.uploadId;
  }

  uploadPart(
    partNumber: number,
    value: ArrayBuffer | ArrayBufferView | string | ReadableStream | Blob,
  ): Promise<R2UploadedPart> {
    this.meter.count("r2ClassA");
    return this.upload.uploadPart(partNumber, value);
  }

  complete(parts: R2UploadedPart[]): Promise<R2Object> {
    this.meter.count("r2ClassA");
    return this.upload.complete(parts);
  }

  abort(): Promise<void> {
    this.meter.count("r2Free");
    return this.upload.abort();
  }
}

export class MeteredBucket {
  constructor(
    private readonly bucket: R2Bucket,
    private readonly meter: Meter,
  ) {}

  head(key: string): Promise<R2Object | null> {
    this.meter.count("r2ClassB");
    return this.bucket.head(key);
  }

  /** No onlyIf here, so an object found always has a body. */
  get(key: string, options?: { range?: R2Range }): Promise<R2ObjectBody | null> {
    this.meter.count("r2ClassB");
    return this.bucket.get(key, options) as Promise<R2ObjectBody | null>;
  }

  put(key: string, value: PutValue, options?: R2PutOptions): Promise<R2Object | null> {
    this.meter.count("r2ClassA");
    return this.bucket.put(key, value, options);
  }

  async delete(keys: string | string[]): Promise<void> {
    this.meter.count("r2Free");
    // Whatever it removes, no remembered link may outlive it (storage/link-cache.ts): once
    // before, and once after for a read that ran while the delete was under way.
    forgetLinks();
    try {
      await this.bucket.delete(keys);
    } finally {
      forgetLinks();
    }
  }

  list(options: R2ListOptions): Promise<R2Objects> {
    this.meter.count("r2ClassA");
    return this.bucket.list(options);
  }

  async createMultipartUpload(key: string, options?: R2MultipartOptions): Promise<MeteredMultipart> {
    this.meter.count("r2ClassA");
    return new MeteredMultipart(await this.bucket.createMultipartUpload(key, options), this.meter);
  }

  /** Makes no call by itself: the resumed upload's calls are counted as they happen. */
  resumeMultipartUpload(key: string, uploadId: string): MeteredMultipart {
    return new MeteredMultipart(this.bucket.resumeMultipartUpload(key, uploadId), this.meter);
  }
}

export class MeteredKv {
  constructor(
    private readonly kv: KVNamespace,
    private readonly meter: Meter,
  ) {}

  getJson<T>(key: string): Promise<T | null> {
    this.meter.count("kvReads");
    return this.kv.get<T>(key, "json");
  }

  put(key: string, value: string, options?: KVNamespacePutOptions): Promise<void> {
    this.meter.count("kvWrites");
    return this.kv.put(key, value, options);
  }

  delete(key: string): Promise<void> {
    this.meter.count("kvWrites");
    return this.kv.delete(key);
  }
}
