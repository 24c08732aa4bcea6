// Manifests, tags, referrers and the repository catalog in R2, in registry terms.
import { formatDigest, tryParseDigest, type Digest } from "../oci/digest";
import type { Descriptor } from "../oci/manifest";
import { headSettled, putUnlessCondemned } from "./condemn";
import { digestFromKeySuffix, keys } from "./keys";
import { LinkCache } from "./link-cache";
import { listUnder } from "./list";
import type { ObjectHead } from "./object-version";
import type { Storage } from "./storage";
import { bucketOf } from "./bindings";

export interface StoredManifest {
  digest: Digest;
  contentType: string;
  size: number;
  body: ReadableStream | null;
  uploadedAt: number;
}

export async function getManifest(
  store: Storage,
  repo: string,
  digest: Digest,
  withBody: boolean,
): Promise<StoredManifest | null> {
  const key = keys.manifest(repo, digest);
  const read = withBody ? await bucketOf(store).get(key) : null;
  const object = withBody ? read : await bucketOf(store).head(key);
  if (!object) return null;
  return {
    digest,
    contentType: object.httpMetadata?.contentType ?? "application/vnd.oci.image.manifest.v1+json",
    size: object.size,
    body: read?.body ?? null,
    uploadedAt: object.uploaded.getTime(),
  };
}

/** What the read path remembers of a manifest it served: its head, never its bytes (the
 *  core keeps those, bounded: registry/manifest-cache.ts). */
type ManifestHead = Omit<StoredManifest, "body">;

const servedManifests = new LinkCache<ManifestHead>();

/**
 * A manifest by digest as the read path serves it. One this isolate read within
 * LINK_CACHE_MS, with no delete since (storage/link-cache.ts), is answered from memory: its
 * head, and its bytes when `cachedBytes` has them, so a warm GET or HEAD by digest costs no R2
 * operation. Otherwise one read, as getManifest. Never for writes or the collector.
 */
export async function getServedManifest(
  store: Storage,
  repo: string,
  digest: Digest,
  withBody: boolean,
  cachedBytes: (head: ManifestHead) => Uint8Array | null,
): Promise<StoredManifest | null> {
  const key = `${repo}@${formatDigest(digest)}`;
  const known = servedManifests.recall(key);
  if (known) {
    const bytes = withBody ? cachedBytes(known) : null;
    if (!withBody || bytes) return { ...known, body: bytes ? new Response(bytes).body : null };
  }
  const seen = servedManifests.generation();
  const manifest = await getManifest(store, repo, digest, withBody);
  if (manifest) {
    const { body: _body, ...head } = manifest;
    servedManifests.remember(key, head, seen);
  }
  return manifest;
}

export async function putManifest(
  store: Storage,
  repo: string,
  digest: Digest,
  bytes: Uint8Array,
  contentType: string,
): Promise<void> {
  // Never over a manifest the collector condemned: see storage/condemn.ts.
  await putUnlessCondemned(store, keys.manifest(repo, digest), bytes, {
    httpMetadata: { contentType },
    customMetadata: { linkedAt: String(Date.now()) },
  });
}

/** Whether the manifest is there once no collector is judging it (storage/condemn.ts). */
export async function manifestSettled(store: Storage, repo: string, digest: Digest): Promise<boolean> {
  return (await headSettled(store, keys.manifest(repo, digest))) !== null;
}

export async function deleteManifestObject(store: Storage, repo: string, digest: Digest): Promise<void> {
  await bucketOf(store).delete(keys.manifest(repo, digest));
}

export async function getTag(store: Storage, repo: string, tag: string): Promise<Digest | null> {
  return (await getTagTarget(store, repo, tag))?.digest ?? null;
}

/** A tag's digest, with the manifest's media type and size when the push recorded them. */
export interface TagTarget {
  digest: Digest;
  manifest: { mediaType: string; size: number } | null;
}

export async function getTagTarget(store: Storage, repo: string, tag: string): Promise<TagTarget | null> {
  const head = await bucketOf(store).head(keys.tag(repo, tag));
  const meta = head?.customMetadata;
  const digest = meta?.digest ? tryParseDigest(meta.digest) : null;
  if (!digest) return null;
  const size = Number(meta?.manifestSize);
  const manifest = meta?.mediaType && Number.isSafeInteger(size) ? { mediaType: meta.mediaType, size } : null;
  return { digest, manifest };
}

/** A tag as the pull-through cache reads it: its digest, and when its upstream last
 *  confirmed it (null for a tag pushed here, which belongs to this registry). */
export interface TagRecord {
  digest: Digest;
  confirmedAt: number | null;
}

export async function getTagRecord(store: Storage, repo: string, tag: string): Promise<TagRecord | null> {
  const head = await bucketOf(store).head(keys.tag(repo, tag));
  const digest = head?.customMetadata?.digest ? tryParseDigest(head.customMetadata.digest) : null;
  if (!head || !digest) return null;
  const confirmed = Number(head.customMetadata?.proxyConfirmedAt);
  return { digest, confirmedAt: Number.isFinite(confirmed) && confirmed > 0 ? confirmed : null };
}

/** Points the tag at `digest`, never over a tag the collector has condemned
 *  (storage/condemn.ts). `confirmedAt` marks a tag cached from an upstream, which the
 *  pull-through cache revalidates once it is older than PROXY_TAG_TTL_SECONDS. With
 *  `onlyOver`, the tag is written only while it is absent (null), points at that digest, or
 *  already points at `digest` (a racing push of the same manifest); false is returned when
 *  another write pointed it elsewhere first. */
export async function putTag(
  store: Storage,
  repo: string,
  tag: string,
  digest: Digest,
  confirmedAt: number | null = null,
  manifest: { mediaType: string; size: number } | null = null,
  onlyOver?: Digest | null,
): Promise<boolean> {
  const now = String(Date.now());
  const customMetadata: Record<string, string> = { digest: formatDigest(digest), taggedAt: now };
  if (confirmedAt !== null) customMetadata.proxyConfirmedAt = String(confirmedAt);
  // What a GET by tag needs besides the bytes, so a warm isolate reads nothing else.
  if (manifest) Object.assign(customMetadata, { mediaType: manifest.mediaType, manifestSize: String(manifest.size) });
  const replaces =
    onlyOver === undefined
      ? undefined
      : (seen: ObjectHead | null) => {
          const current = seen?.customMetadata?.digest ?? null;
          return current === (onlyOver && formatDigest(onlyOver)) || current === formatDigest(digest);
        };
  return putUnlessCondemned(store, keys.tag(repo, tag), null, { customMetadata }, replaces);
}

/** Deletes the tag; null when there was none, else the digest it named (read from the same
 *  head that found it, so the caller's event costs no extra call). */
export async function deleteTag(store: Storage, repo: string, tag: string): Promise<{ digest: string | null } | null> {
  const key = keys.tag(repo, tag);
  const head = await bucketOf(store).head(key);
  if (!head) return null;
  await bucketOf(store).delete(key);
  return { digest: head.customMetadata?.digest ?? null };
}

/** R2 deletes at most this many keys in one call. */
const DELETE_BATCH = 1000;

/** Deletes many tags in a few calls (one per 1,000), whether or not each still exists. */
export async function deleteTags(store: Storage, repo: string, tags: string[]): Promise<void> {
  for (let at = 0; at < tags.length; at += DELETE_BATCH) {
    await bucketOf(store).delete(tags.slice(at, at + DELETE_BATCH).map((tag) => keys.tag(repo, tag)));
  }
}

/** One page of tags in lexical order, starting after `last`. */
export async function listTags(
  store: Storage,
  repo: string,
  limit: number,
  last: string | null,
): Promise<{ tags: string[]; more: boolean }> {
  if (limit === 0) return { tags: [], more: false };
  const listing = await listUnder(store, { prefix: keys.tagPrefix(repo), after: last || null, limit: limit + 1 });
  const tags = listing.objects.map((o) => o.name);
  return { tags: tags.slice(0, limit), more: tags.length > limit };
}

/** Every tag of the repository with the digest it points to (null for a tag object written
 *  without one, which points nowhere). Bounded by the repository's own tags, never the bucket. */
export async function listTagTargets(
  store: Storage,
  repo: string,
  max = 100_000,
): Promise<{ tag: string; digest: string | null }[]> {
  const listing = await listUnder(store, { prefix: keys.tagPrefix(repo), limit: max, metadata: true });
  return listing.objects.map((o) => ({ tag: o.name, digest: o.object.customMetadata?.digest ?? null }));
}

/** Referrer descriptors fit in customMetadata (2 KiB) unless their annotations are large;
 *  those are kept in the body, with their artifactType in metadata for filtering, and read
 *  back only when a page includes them. */
const INLINE_DESCRIPTOR_LIMIT = 1500;

export async function putReferrer(
  store: Storage,
  repo: string,
  subject: Digest,
  descriptor: Descriptor,
): Promise<void> {
  const referrer = tryParseDigest(descriptor.digest)!;
  const json = JSON.stringify(descriptor);
  // The limit is on bytes: annotations in other scripts take up to 3 bytes a character.
  const inline = new TextEncoder().encode(json).length <= INLINE_DESCRIPTOR_LIMIT;
  await bucketOf(store).put(keys.referrer(repo, subject, referrer), inline ? null : json, {
    customMetadata: inline ? { descriptor: json } : { external: "1", artifactType: descriptor.artifactType ?? "" },
  });
}

export async function deleteReferrer(store: Storage, repo: string, subject: Digest, referrer: Digest): Promise<void> {
  await bucketOf(store).delete(keys.referrer(repo, subject, referrer));
}

/** A referrer of a subject as stored, before its descriptor is read. */
export interface StoredReferrer {
  digest: Digest;
  /** The descriptor when it is stored inline (most are); null when it is kept in the body:
   *  readStoredReferrer reads it. */
  descriptor: Descriptor | null;
  /** The artifactType recorded at push ("" for none), without reading the descriptor;
   *  undefined when none was recorded. */
  artifactType: string | undefined;
  /** Bytes of the descriptor in a response. */
  bytes: number;
}

function storedReferrer(digest: Digest, object: ObjectHead): StoredReferrer {
  const inline = object.customMetadata?.descriptor;
  if (inline) {
    const descriptor = JSON.parse(inline) as Descriptor;
    return { digest, descriptor, bytes: inline.length, artifactType: descriptor.artifactType ?? "" };
  }
  return { digest, descriptor: null, bytes: object.size, artifactType: object.customMetadata?.artifactType };
}

/**
 * One listing call's worth (up to 1,000) of the subject's referrers in digest order: after
 * `after`, or from `cursor` (the previous page's) when given. The descriptors kept in bodies
 * are not read: each costs a read, so the caller reads only those it keeps.
 */
export async function listStoredReferrers(
  store: Storage,
  repo: string,
  subject: Digest,
  after: Digest | null,
  cursor: string | null,
): Promise<{ referrers: StoredReferrer[]; cursor: string | null }> {
  const prefix = keys.referrerPrefix(repo, subject);
  const listing = await listUnder(store, {
    prefix,
    after: after && keys.referrer(repo, subject, after).slice(prefix.length),
    cursor,
    limit: 1000,
    maxCalls: 1,
    metadata: true,
  });
  const referrers: StoredReferrer[] = [];
  for (const { object } of listing.objects) {
    const digest = tryParseDigest(digestFromKeySuffix(object.key));
    if (digest) referrers.push(storedReferrer(digest, object));
  }
  return { referrers, cursor: listing.cursor };
}

/** A descriptor kept in its entry's body; null when the entry is gone. */
export async function readStoredReferrer(
  store: Storage,
  repo: string,
  subject: Digest,
  referrer: Digest,
): Promise<Descriptor | null> {
  const body = await bucketOf(store).get(keys.referrer(repo, subject, referrer));
  return body ? ((await body.json()) as Descriptor) : null;
}

export async function addToCatalog(store: Storage, repo: string): Promise<void> {
  const key = keys.catalogEntry(repo);
  if (!(await bucketOf(store).head(key))) await bucketOf(store).put(key, null);
}
