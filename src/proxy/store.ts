// The pull-through cache's own records in R2: tags that came from an upstream (with the time
// they were last confirmed there), and the marker that says a blob fetch is under way.
// Keys come from storage/keys.ts; manifests and blobs use the ordinary storage modules.
import { formatDigest, tryParseDigest, type Digest } from "../oci/digest";
import { keys } from "../storage/keys";
import type { Storage } from "../storage/storage";

export interface CachedTag {
  digest: Digest;
  /** Epoch ms the upstream last confirmed the tag, or null for a tag pushed here. */
  confirmedAt: number | null;
}

export async function getCachedTag(store: Storage, repo: string, tag: string): Promise<CachedTag | null> {
  const head = await store.bucket.head(keys.tag(repo, tag));
  const digest = head?.customMetadata?.digest ? tryParseDigest(head.customMetadata.digest) : null;
  if (!head || !digest) return null;
  const confirmed = Number(head.customMetadata?.proxyConfirmedAt);
  return { digest, confirmedAt: Number.isFinite(confirmed) && confirmed > 0 ? confirmed : null };
}

/** Writes the tag as the ordinary storage does (digest, taggedAt), plus when the upstream
 *  confirmed it, which marks it as a cached tag that must be revalidated. */
export async function putCachedTag(store: Storage, repo: string, tag: string, digest: Digest, now = Date.now()): Promise<void> {
  await store.bucket.put(keys.tag(repo, tag), null, {
    customMetadata: { digest: formatDigest(digest), taggedAt: String(now), proxyConfirmedAt: String(now) },
  });
}

export interface FetchMarker {
  /** Epoch ms of the fetcher's last sign of life. */
  heartbeatAt: number;
}

/** Claims the right to fetch a blob from upstream; false when someone else holds it. */
export async function claimBlobFetch(store: Storage, digest: Digest, owner: string): Promise<boolean> {
  const written = await store.bucket.put(keys.proxyFetch(digest), null, {
    customMetadata: { owner, heartbeatAt: String(Date.now()) },
    onlyIf: new Headers({ "If-None-Match": "*" }),
  });
  return written !== null;
}

export async function getBlobFetch(store: Storage, digest: Digest): Promise<FetchMarker | null> {
  const head = await store.bucket.head(keys.proxyFetch(digest));
  if (!head) return null;
  return { heartbeatAt: Number(head.customMetadata?.heartbeatAt ?? head.uploaded.getTime()) };
}

/** Refreshes the claim so waiters do not take it for abandoned. */
export async function refreshBlobFetch(store: Storage, digest: Digest, owner: string): Promise<void> {
  await store.bucket.put(keys.proxyFetch(digest), null, { customMetadata: { owner, heartbeatAt: String(Date.now()) } });
}

export async function releaseBlobFetch(store: Storage, digest: Digest): Promise<void> {
  await store.bucket.delete(keys.proxyFetch(digest));
}
