// The storage facade: the only object outside src/storage/ that stands for the bucket and the
// KV namespace. Code above this layer receives a Storage and passes it to the storage
// functions (blobs, manifests, uploads, ...), which speak in registry terms; it never sees a
// binding. Every call those functions make is counted on `meter` (see meter.ts).
import type { Env } from "../config/config";
import { attachBindings } from "./bindings";
import { Meter } from "./meter";
import { MeteredBucket, MeteredKv } from "./metered";

/** The Worker's bindings storage is built on (wrangler.toml names them). The events queue
 *  may be absent: then no event is sent. PUBLIC_BLOBS, the public bucket of
 *  BLOB_REDIRECT=public (docs/delivery.md), is bound only by deployments that use it, so the
 *  generated Env does not name it. */
export type WorkerBindings = Pick<Env, "REGISTRY" | "UPLOADS"> &
  Partial<Pick<Env, "EVENTS">> & { PUBLIC_BLOBS?: Env["REGISTRY"] };

export class Storage {
  constructor(
    private readonly env: WorkerBindings,
    readonly meter: Meter = new Meter(),
  ) {
    attachBindings(this, {
      bucket: new MeteredBucket(env.REGISTRY, meter),
      kv: new MeteredKv(env.UPLOADS, meter),
      events: env.EVENTS ?? null,
      publicBlobs: env.PUBLIC_BLOBS ? new MeteredBucket(env.PUBLIC_BLOBS, meter) : null,
    });
  }

  /** The same storage counted on a meter of its own whose counts also reach this one's:
   *  a collector step run by a request has its own budget and still shows in the request. */
  child(): Storage {
    return new Storage(this.env, new Meter(this.meter));
  }

  /** The same storage on a meter of its own that the request's does not include: for work
   *  that outlives the answer (storage/behind-answer.ts), whose calls are logged apart. */
  detached(): Storage {
    return new Storage(this.env, new Meter());
  }
}

/** Storage for one request or one scheduled run, with a fresh meter. */
export function openStorage(env: WorkerBindings): Storage {
  return new Storage(env);
}
