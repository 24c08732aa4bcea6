// The pull-through cache's marker that a blob is being fetched from an upstream
// (`_proxy/fetching/<digest>`, keys.ts): claimed with If-None-Match so one request fetches
// while concurrent pulls of the same blob wait for its record instead of fetching again.
import type { Digest } from "../oci/digest";
import { keys } from "./keys";
import type { Storage } from "./storage";
import { bucketOf } from "./bindings";

export interface FetchMarker {
  /** Epoch ms of the fetcher's last sign of life. */
  heartbeatAt: number;
}

/** Claims the right to fetch a blob from upstream; false when someone else holds it. */
export async function claimBlobFetch(store: Storage, digest: Digest, owner: string): Promise<boolean> {
  const written = await bucketOf(store).put(keys.proxyFetch(digest), null, {
    customMetadata: { owner, heartbeatAt: String(Date.now()) },
    onlyIf: new Headers({ "If-None-Match": "*" }),
  });
  return written !== null;
}

export async function getBlobFetch(store: Storage, digest: Digest): Promise<FetchMarker | null> {
  const head = await bucketOf(store).head(keys.proxyFetch(digest));
  if (!head) return null;
  return { heartbeatAt: Number(head.customMetadata?.heartbeatAt ?? head.uploaded.getTime()) };
}

/** Refreshes the claim so waiters do not take it for abandoned. */
export async function refreshBlobFetch(store: Storage, digest: Digest, owner: string): Promise<void> {
  await bucketOf(store).put(keys.proxyFetch(digest), null, {
    customMetadata: { owner, heartbeatAt: String(Date.now()) },
  });
}

export async function releaseBlobFetch(store: Storage, digest: Digest): Promise<void> {
  await bucketOf(store).delete(keys.proxyFetch(digest));
}
