// The public bucket of BLOB_REDIRECT=public: a second R2 bucket (binding PUBLIC_BLOBS) whose
// custom domain Cloudflare's CDN serves to anyone, holding copies of the blobs of
// repositories anyone may pull, and nothing else. Why a bucket of its own: the registry's
// bucket holds private manifests and blobs under keys anyone can work out from this source,
// so a public domain on it would publish everything. A copy is made the first time a public
// repository's blob is pulled (the Worker serves that pull itself) and stays until the
// collector frees the blob (collector.ts deleteRecordWithData). Its key is the digest, so one copy serves
// every public repository that links it; the core redirects to it only after the request's
// rights and the repository's link are checked, and only for anonymously pullable
// repositories.
import type { Digest } from "../oci/digest";
import { runBehindAnswer } from "./behind-answer";
import { readBlobData } from "./blob-data";
import type { BlobRecord } from "./blobs";
import { publicBucketOf } from "./bindings";
import { keys } from "./keys";
import { LinkCache } from "./link-cache";
import type { Storage } from "./storage";

/** Copies known to exist, remembered as links are (storage/link-cache.ts: 60 s, forgotten
 *  on any delete this isolate makes), so a warm pull costs no head of the public bucket. */
const present = new LinkCache<true>();

function publicBucket(store: Storage) {
  const bucket = publicBucketOf(store);
  // parseConfig refuses BLOB_REDIRECT=public without the binding, so this is never reached.
  if (!bucket) throw new Error("storage: the PUBLIC_BLOBS binding is missing");
  return bucket;
}

/** The public URL of the blob's copy under `base`, or null while there is none yet. */
export async function publicBlobUrl(store: Storage, base: string, digest: Digest): Promise<string | null> {
  const key = keys.publicBlob(digest);
  const url = `${base}/${key}`;
  if (present.recall(key)) return url;
  const seen = present.generation();
  if (!(await publicBucket(store).head(key))) return null;
  present.remember(key, true, seen);
  return url;
}

/**
 * Copies the blob into the public bucket from a read of its own, streamed (never buffered)
 * and checked by R2 against the digest, behind the answer: the first pull is served by the
 * Worker, later ones are redirected. Counted and logged as a `public-blobs copy` line, like
 * the edge cache's fill (storage/behind-answer.ts); a failed copy only means the next pull
 * copies again.
 */
export async function copyToPublicBucket(store: Storage, digest: Digest, record: BlobRecord): Promise<void> {
  const key = keys.publicBlob(digest);
  const seen = present.generation();
  await runBehindAnswer(store, { label: "public-blobs copy", key, digest, bytes: record.size }, async (own) => {
    const body = await readBlobData(own, record);
    if (!body) return false;
    const sized = new FixedLengthStream(record.size);
    void body.pipeTo(sized.writable).catch(() => {});
    await publicBucket(own).put(key, sized.readable, {
      httpMetadata: { contentType: "application/octet-stream", cacheControl: "public, max-age=31536000, immutable" },
      // R2 refuses bytes that do not hash to the digest, so a copy is the blob or nothing.
      [digest.algorithm]: digest.hex,
    });
    // The next pull in this isolate redirects without a head of the public bucket.
    present.remember(key, true, seen);
    return true;
  });
}
