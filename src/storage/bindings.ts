// Each Storage's metered bindings, reachable from storage modules only (this file is private
// to src/storage/, and the layering check keeps it so): code above storage holds a Storage
// and hands it back to storage functions, but cannot reach the bucket, the namespace or the
// queue through it.
import type { MeteredBucket, MeteredKv } from "./metered";

interface Bindings {
  bucket: MeteredBucket;
  kv: MeteredKv;
  /** Not metered: a queue send is no storage operation, and the usage line counts what R2
   *  and KV bill. Null when the EVENTS producer is not bound. */
  events: Queue | null;
  /** The public bucket of BLOB_REDIRECT=public (PUBLIC_BLOBS); null when not bound. */
  publicBlobs: MeteredBucket | null;
}

const bindingsOf = new WeakMap<object, Bindings>();

/** Called once, by the Storage constructor. */
export function attachBindings(store: object, bindings: Bindings): void {
  bindingsOf.set(store, bindings);
}

function bindings(store: object): Bindings {
  const found = bindingsOf.get(store);
  if (!found) throw new Error("storage: not a Storage made by openStorage()");
  return found;
}

export const bucketOf = (store: object): MeteredBucket => bindings(store).bucket;
export const kvOf = (store: object): MeteredKv => bindings(store).kv;
export const eventsQueueOf = (store: object): Queue | null => bindings(store).events;
export const publicBucketOf = (store: object): MeteredBucket | null => bindings(store).publicBlobs;
