// Manifest bytes kept in the isolate, by repository, digest and media type, so a warm isolate serves a
// manifest GET by tag with one storage call: the tag's head, which names the digest and media
// type. Only content-addressed bytes are cached, never what a tag points to: the tag is read
// from storage on every request, so a re-tag is seen at once, and a deleted manifest has lost
// its tags first (registry/manifests.ts deletes tags before the manifest; the collector only
// frees untagged manifests). A GET by digest is served from here only while storage
// remembers that this repository holds the manifest (storage/manifests.ts getServedManifest:
// 60 s, forgotten on any delete this isolate makes), so another isolate's delete is seen
// within that bound (docs/delivery.md). Bounded: CACHE_BYTES in all, entries up to ENTRY_BYTES.

const CACHE_BYTES = 4 * 1024 * 1024;
/** Larger manifests (big indexes) are streamed from storage each time. */
export const ENTRY_BYTES = 256 * 1024;

/** Insertion order doubles as recency order: a hit is moved to the end. */
const entries = new Map<string, Uint8Array>();
let total = 0;

const keyOf = (repo: string, digest: string, mediaType: string) => `${repo}@${digest} ${mediaType}`;

export function cachedManifest(repo: string, digest: string, mediaType: string): Uint8Array | null {
  const key = keyOf(repo, digest, mediaType);
  const bytes = entries.get(key);
  if (!bytes) return null;
  entries.delete(key);
  entries.set(key, bytes);
  return bytes;
}

export function rememberManifest(repo: string, digest: string, mediaType: string, bytes: Uint8Array): void {
  const key = keyOf(repo, digest, mediaType);
  if (bytes.length > ENTRY_BYTES || entries.has(key)) return;
  entries.set(key, bytes);
  total += bytes.length;
  for (const [oldest, old] of entries) {
    if (total <= CACHE_BYTES) break;
    entries.delete(oldest);
    total -= old.length;
  }
}
