// The storage facade: the only object outside src/storage/ that stands for the bucket and the
// KV namespace. Code above this layer receives a Storage and passes it to the storage
// functions (blobs, manifests, uploads, ...), which speak in registry terms; it never sees a
// binding. Every call those functions make is counted on `meter` (see meter.ts).
import { Meter } from "./meter";
import { MeteredBucket, MeteredKv } from "./metered";

/** The Worker bindings storage is built on (wrangler.toml names them). */
export interface StorageBindings {
  REGISTRY: R2Bucket;
  UPLOADS: KVNamespace;
  /** The events queue (wrangler.toml [[queues.producers]]); absent, no event is sent. */
  EVENTS?: Queue;
}

export class Storage {
  /** For the storage modules only. */
  readonly bucket: MeteredBucket;
  /** For the storage modules only. */
  readonly kv: MeteredKv;
  /** For the storage modules only (events.ts). Not metered: a queue send is no storage
   *  operation, and the usage line counts what R2 and KV bill. */
  readonly events: Queue | null;

  constructor(
    private readonly bindings: StorageBindings,
    readonly meter: Meter = new Meter(),
  ) {
    this.bucket = new MeteredBucket(bindings.REGISTRY, meter);
    this.kv = new MeteredKv(bindings.UPLOADS, meter);
    this.events = bindings.EVENTS ?? null;
  }

  /** The same storage counted on a meter of its own whose counts also reach this one's:
   *  a collector step run by a request has its own budget and still shows in the request. */
  child(): Storage {
    return new Storage(this.bindings, new Meter(this.meter));
  }
}

/** Storage for one request or one scheduled run, with a fresh meter. */
export function openStorage(bindings: StorageBindings): Storage {
  return new Storage(bindings);
}
