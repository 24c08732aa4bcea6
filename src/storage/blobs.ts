// Blob records, repository links and blob bytes in R2, in registry terms.
// A blob's bytes live once per bucket; repositories hold links to them (see keys.ts).
import { formatDigest, type Digest } from "../oci/digest";
import { headSettled, MAX_WRITE_ATTEMPTS, writeContended } from "./condemn";
import { keys } from "./keys";
import { LinkCache } from "./link-cache";
import { listUnder } from "./list";
import type { Storage } from "./storage";
import { bucketOf } from "./bindings";

export interface BlobRecord {
  /** Key of the object that holds the bytes. */
  dataKey: string;
  size: number;
}

function recordFromMetadata(meta: Record<string, string> | undefined): BlobRecord | null {
  if (!meta?.data || meta.size === undefined) return null;
  return { dataKey: meta.data, size: Number(meta.size) };
}

/** The bucket-wide record of a blob, or null when the bucket does not hold it. */
export async function getBlobRecord(store: Storage, digest: Digest): Promise<BlobRecord | null> {
  const head = await bucketOf(store).head(keys.blobRecord(digest));
  return recordFromMetadata(head?.customMetadata);
}

/** The record once no collector is judging it (storage/condemn.ts): what a writer that must
 *  know the blob will stay re-reads after linking. */
export async function getSettledBlobRecord(store: Storage, digest: Digest): Promise<BlobRecord | null> {
  return recordFromMetadata((await headSettled(store, keys.blobRecord(digest)))?.customMetadata);
}

/** The repository's link once no collector is judging it. */
export async function getSettledBlobLink(store: Storage, repo: string, digest: Digest): Promise<BlobRecord | null> {
  return recordFromMetadata((await headSettled(store, keys.blobLink(repo, digest)))?.customMetadata);
}

/**
 * Creates the blob record unless one exists, and returns the record that wins: a concurrent
 * upload of the same content may have created it first, and then its bytes are the blob's.
 */
export async function createBlobRecord(store: Storage, digest: Digest, record: BlobRecord): Promise<BlobRecord> {
  const existing = await getBlobRecord(store, digest);
  if (existing) return existing;
  const written = await bucketOf(store).put(keys.blobRecord(digest), null, {
    customMetadata: { data: record.dataKey, size: String(record.size), digest: formatDigest(digest) },
    onlyIf: new Headers({ "If-None-Match": "*" }),
  });
  if (written) return record;
  return (await getBlobRecord(store, digest)) ?? record;
}

/** The repository's link to a blob, carrying the record so a read needs no second lookup. */
export async function getBlobLink(
  store: Storage,
  repo: string,
  digest: Digest,
): Promise<(BlobRecord & { linkedAt: number }) | null> {
  const head = await bucketOf(store).head(keys.blobLink(repo, digest));
  const record = recordFromMetadata(head?.customMetadata);
  return record && head
    ? { ...record, linkedAt: Number(head.customMetadata?.linkedAt ?? head.uploaded.getTime()) }
    : null;
}

/** The link as the blob read path uses it: remembered in the isolate for a while
 *  (storage/link-cache.ts), so a warm pull checks it without an R2 operation; `fresh` reads
 *  the bucket (after a remembered link named data that is gone). Never for writes or the
 *  collector, which read the bucket itself (getBlobLink). */
export async function getServedBlobLink(
  store: Storage,
  repo: string,
  digest: Digest,
  fresh = false,
): Promise<BlobRecord | null> {
  const key = `${repo}@${formatDigest(digest)}`;
  const recalled = fresh ? null : servedLinks.recall(key);
  if (recalled) return recalled;
  const seen = servedLinks.generation();
  const link = await getBlobLink(store, repo, digest);
  if (link) servedLinks.remember(key, { dataKey: link.dataKey, size: link.size }, seen);
  return link;
}

const servedLinks = new LinkCache<BlobRecord>();

/**
 * Writes the reverse link, then the link, never over a link the collector has condemned
 * (storage/condemn.ts). Reverse first: whoever sees the link knows the collector will see
 * the reverse link before it deletes the blob record. If the collector deleted both while
 * this waited, the conditional put fails and both are written again.
 */
export async function linkBlob(store: Storage, repo: string, digest: Digest, record: BlobRecord): Promise<void> {
  const customMetadata = { data: record.dataKey, size: String(record.size), linkedAt: String(Date.now()) };
  const link = keys.blobLink(repo, digest);
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const seen = await headSettled(store, link);
    await bucketOf(store).put(keys.blobRepo(digest, repo), null, { customMetadata });
    const onlyIf = seen ? { etagMatches: seen.etag } : new Headers({ "If-None-Match": "*" });
    if (await bucketOf(store).put(link, null, { customMetadata, onlyIf })) return;
  }
  throw writeContended();
}

export async function unlinkBlob(store: Storage, repo: string, digest: Digest): Promise<void> {
  await bucketOf(store).delete([keys.blobLink(repo, digest), keys.blobRepo(digest, repo)]);
}

/** Repositories that link the blob, in key order, for mounts without `from` and for GC. */
export async function listBlobRepositories(store: Storage, digest: Digest, limit = 1000): Promise<string[]> {
  const listing = await listUnder(store, { prefix: keys.blobRepos(digest), limit });
  return listing.objects.map((o) => o.name);
}
