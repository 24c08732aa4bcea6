// Counts every storage operation, by the classes Cloudflare bills and limits: R2 class A
// (writes and listings), class B (reads), free R2 calls (deletes, multipart aborts), and KV
// reads and writes. Each call is also one subrequest, the number Workers cap per invocation
// (1,000 on Free, 10,000 on paid plans). One Meter per request and one per collector step;
// a step started by a request counts into both (the child's counts reach its parent).
// https://developers.cloudflare.com/r2/pricing/#class-a-operations

export interface Usage {
  /** R2 PutObject, ListObjects, CreateMultipartUpload, UploadPart, CompleteMultipartUpload. */
  r2ClassA: number;
  /** R2 HeadObject, GetObject. */
  r2ClassB: number;
  /** R2 DeleteObject (one call, however many keys), AbortMultipartUpload: not billed. */
  r2Free: number;
  kvReads: number;
  /** KV puts and deletes. */
  kvWrites: number;
}

export type Operation = keyof Usage;

export function emptyUsage(): Usage {
  return { r2ClassA: 0, r2ClassB: 0, r2Free: 0, kvReads: 0, kvWrites: 0 };
}

/** Every call made: what the Workers subrequest limit counts. */
export function subrequests(usage: Usage): number {
  return usage.r2ClassA + usage.r2ClassB + usage.r2Free + usage.kvReads + usage.kvWrites;
}

export class Meter {
  private readonly counts = emptyUsage();

  constructor(private readonly parent: Meter | null = null) {}

  count(operation: Operation): void {
    this.counts[operation]++;
    this.parent?.count(operation);
  }

  /** A copy of the counts so far. */
  usage(): Usage {
    return { ...this.counts };
  }

  /** Calls made so far, of every kind. */
  get subrequests(): number {
    return subrequests(this.counts);
  }
}
