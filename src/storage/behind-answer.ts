// Storage work a request leaves running behind its answer (in waitUntil) to make later pulls
// cheaper: the edge cache's fill (edge-cache.ts) and the public bucket's copy
// (public-blobs.ts). One home for what both need: a burst of pulls of one blob starts the
// work once per isolate, its storage calls are counted on a meter of their own (the request's
// usage line counts its answer alone) and logged as one line, and a failure only means the
// next pull tries again.
import { formatDigest, type Digest } from "../oci/digest";
import type { Storage } from "./storage";

/** The work under way in this isolate, by its label and key. */
const underWay = new Set<string>();

export interface BehindAnswer {
  /** The log line's first word, e.g. "edge-cache fill". */
  label: string;
  /** What makes two pieces of work the same (the edge cache's key names its origin too). */
  key: string;
  digest: Digest;
  bytes: number;
}

/**
 * Runs `work` with storage on a meter of its own unless the same work is under way in this
 * isolate, and logs `<label> {"digest","bytes","stored",...counts}`. `work` says whether it
 * stored; a thrown error stores nothing, and there is nothing to undo: R2 and the Cache API
 * keep an object whole or not at all.
 */
export async function runBehindAnswer(
  store: Storage,
  what: BehindAnswer,
  work: (own: Storage) => Promise<boolean>,
): Promise<void> {
  const id = `${what.label} ${what.key}`;
  if (underWay.has(id)) return;
  underWay.add(id);
  const own = store.detached();
  let stored = false;
  try {
    stored = await work(own);
  } catch {
    // Stored nothing: an entry or object is whole or absent.
  } finally {
    underWay.delete(id);
    const line = { digest: formatDigest(what.digest), bytes: what.bytes, stored, ...own.meter.usage() };
    console.log(what.label, JSON.stringify(line));
  }
}
