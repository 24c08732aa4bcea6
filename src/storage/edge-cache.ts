// The edge cache: blob bytes kept in this data center's copy of the Workers Cache API, so a
// warm pull of a layer costs no R2 operation and no Worker CPU for its body. A blob never
// changes under its digest, so an entry is keyed by the digest alone and never goes stale;
// who may read it is not the cache's business: the core serves an entry only after the
// request's rights and the repository's link were checked (registry/blobs.ts serveBlob), as
// it does for the bucket. Entries are keyed under the request's own origin (the Cache API is
// per zone) at a path no route serves, with a public Cache-Control because the Cache API
// stores nothing marked private; clients never see these headers, only the core's.
//
// Limits: the Cache API keeps objects up to 512 MB on Free, Pro and Business plans (5 GB on
// Enterprise), so larger blobs always stream from R2 (EDGE_CACHE_MAX_BYTES, 512 MB unless
// set). It works only on a custom domain (on workers.dev every match misses and every put is
// dropped), and each data center fills its own copy. docs/delivery.md has the rest.
import { formatContentRange, type ByteRange } from "../oci/range";
import type { Digest } from "../oci/digest";
import { runBehindAnswer } from "./behind-answer";
import { readBlobData } from "./blob-data";
import type { BlobRecord } from "./blobs";
import type { Storage } from "./storage";

/** Which cache a request reads: its origin's (the Cache API is per zone), for blobs up to
 *  maxBytes (EDGE_CACHE_MAX_BYTES; 0 turns the cache off). */
export interface EdgePlace {
  origin: string;
  maxBytes: number;
}

function cacheKey(origin: string, digest: Digest): string {
  return `${origin}/-/edge-cache/blobs/${digest.algorithm}/${digest.hex}`;
}

function edgeCache(): Cache | null {
  return (globalThis as { caches?: CacheStorage }).caches?.default ?? null;
}

/** The cached bytes of the blob, whole or `range`; null on a miss (or no Cache API). */
export async function matchCachedBlob(
  place: EdgePlace,
  digest: Digest,
  size: number,
  range: ByteRange | null,
): Promise<ReadableStream | null> {
  const cache = edgeCache();
  if (!cache || size > place.maxBytes) return null;
  const headers = new Headers();
  if (range) headers.set("Range", `bytes=${range.start}-${range.end}`);
  const hit = await cache.match(new Request(cacheKey(place.origin, digest), { headers }));
  if (!hit?.body) return null;
  const length = range ? range.end - range.start + 1 : size;
  // A cached entry that disagrees with the link (a range the cache did not cut, a length
  // other than the record's) is not served: the bucket answers instead.
  const expected = range ? 206 : 200;
  const sameRange = !range || hit.headers.get("Content-Range") === formatContentRange(range, size);
  const declared = hit.headers.get("Content-Length");
  if (hit.status !== expected || !sameRange || (declared !== null && Number(declared) !== length)) {
    await hit.body.cancel();
    return null;
  }
  return hit.body;
}

/**
 * Puts the blob into the edge cache from a read of its own, streamed from R2 into the cache
 * without buffering: the client's answer never waits for the fill, and a slow client never
 * holds bytes for it. A cold pull costs one more read of the blob (one class B operation per
 * READ_WINDOW_BYTES), counted and logged as an `edge-cache fill` line (storage/behind-answer.ts);
 * a failed fill only means the next pull is cold too.
 */
export async function fillBlobCache(
  store: Storage,
  place: EdgePlace,
  digest: Digest,
  record: BlobRecord,
): Promise<void> {
  const cache = edgeCache();
  if (!cache || record.size > place.maxBytes) return;
  const key = cacheKey(place.origin, digest);
  await runBehindAnswer(store, { label: "edge-cache fill", key, digest, bytes: record.size }, async (own) => {
    const body = await readBlobData(own, record);
    if (!body) return false;
    const headers = new Headers({
      "Content-Type": "application/octet-stream",
      "Content-Length": String(record.size),
      "Cache-Control": "public, max-age=31536000, immutable",
    });
    await cache.put(key, new Response(body, { headers }));
    return true;
  });
}
