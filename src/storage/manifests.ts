// Manifests, tags, referrers and the repository catalog in R2, in registry terms.
import { formatDigest, tryParseDigest, type Digest } from "../oci/digest";
import type { Descriptor } from "../oci/manifest";
import { headSettled, putUnlessCondemned } from "./condemn";
import { digestFromKeySuffix, keys } from "./keys";
import { listAll, listPage } from "./list";
import type { Storage } from "./storage";

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
  const object = withBody
    ? await store.bucket.get(keys.manifest(repo, digest))
    : await store.bucket.head(keys.manifest(repo, digest));
  if (!object) return null;
  return {
    digest,
    contentType: object.httpMetadata?.contentType ?? "application/vnd.oci.image.manifest.v1+json",
    size: object.size,
    body: "body" in object ? (object as R2ObjectBody).body : null,
    uploadedAt: object.uploaded.getTime(),
  };
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
  await store.bucket.delete(keys.manifest(repo, digest));
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
  const head = await store.bucket.head(keys.tag(repo, tag));
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
  const head = await store.bucket.head(keys.tag(repo, tag));
  const digest = head?.customMetadata?.digest ? tryParseDigest(head.customMetadata.digest) : null;
  if (!head || !digest) return null;
  const confirmed = Number(head.customMetadata?.proxyConfirmedAt);
  return { digest, confirmedAt: Number.isFinite(confirmed) && confirmed > 0 ? confirmed : null };
}

/** Points the tag at `digest`, never over a tag the collector has condemned
 *  (storage/condemn.ts). `confirmedAt` marks a tag cached from an upstream, which the
 *  pull-through cache revalidates once it is older than PROXY_TAG_TTL_SECONDS. */
export async function putTag(
  store: Storage,
  repo: string,
  tag: string,
  digest: Digest,
  confirmedAt: number | null = null,
  manifest: { mediaType: string; size: number } | null = null,
): Promise<void> {
  const now = String(Date.now());
  const customMetadata: Record<string, string> = { digest: formatDigest(digest), taggedAt: now };
  if (confirmedAt !== null) customMetadata.proxyConfirmedAt = String(confirmedAt);
  // What a GET by tag needs besides the bytes, so a warm isolate reads nothing else.
  if (manifest) Object.assign(customMetadata, { mediaType: manifest.mediaType, manifestSize: String(manifest.size) });
  await putUnlessCondemned(store, keys.tag(repo, tag), null, { customMetadata });
}

export async function deleteTag(store: Storage, repo: string, tag: string): Promise<boolean> {
  const key = keys.tag(repo, tag);
  if (!(await store.bucket.head(key))) return false;
  await store.bucket.delete(key);
  return true;
}

/** R2 deletes at most this many keys in one call. */
const DELETE_BATCH = 1000;

/** Deletes many tags in a few calls (one per 1,000), whether or not each still exists. */
export async function deleteTags(store: Storage, repo: string, tags: string[]): Promise<void> {
  for (let at = 0; at < tags.length; at += DELETE_BATCH) {
    await store.bucket.delete(tags.slice(at, at + DELETE_BATCH).map((tag) => keys.tag(repo, tag)));
  }
}

/** One page of tags in lexical order, starting after `last`. */
export async function listTags(
  store: Storage,
  repo: string,
  limit: number,
  last: string | null,
): Promise<{ tags: string[]; more: boolean }> {
  const prefix = keys.tagPrefix(repo);
  if (limit === 0) return { tags: [], more: false };
  const objects = await listAll(store, { prefix, startAfter: last ? prefix + last : undefined }, limit + 1);
  const tags = objects.map((o) => o.key.slice(prefix.length));
  return { tags: tags.slice(0, limit), more: tags.length > limit };
}

/** Every tag of the repository with the digest it points to. Bounded by the repository's
 *  own tags, never the bucket. */
export async function listTagTargets(
  store: Storage,
  repo: string,
  max = 100_000,
): Promise<{ tag: string; digest: string }[]> {
  const prefix = keys.tagPrefix(repo);
  const objects = await listAll(store, { prefix, include: ["customMetadata"] }, max);
  return objects.map((o) => ({ tag: o.key.slice(prefix.length), digest: o.customMetadata?.digest ?? "" }));
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
  await store.bucket.put(keys.referrer(repo, subject, referrer), inline ? null : json, {
    customMetadata: inline ? { descriptor: json } : { external: "1", artifactType: descriptor.artifactType ?? "" },
  });
}

export async function deleteReferrer(store: Storage, repo: string, subject: Digest, referrer: Digest): Promise<void> {
  await store.bucket.delete(keys.referrer(repo, subject, referrer));
}

/** What a listing entry says before any read: its descriptor when inline, its size in a
 *  response, and its artifactType when known ("" for none, undefined when not recorded). */
function peekReferrer(object: R2Object): {
  inline: Descriptor | null;
  bytes: number;
  artifactType: string | undefined;
} {
  const inline = object.customMetadata?.descriptor;
  if (inline) {
    const descriptor = JSON.parse(inline) as Descriptor;
    return { inline: descriptor, bytes: inline.length, artifactType: descriptor.artifactType ?? "" };
  }
  return { inline: null, bytes: object.size, artifactType: object.customMetadata?.artifactType };
}

async function readReferrer(store: Storage, object: R2Object): Promise<Descriptor | null> {
  const body = await store.bucket.get(object.key);
  return body ? ((await body.json()) as Descriptor) : null;
}

export interface ReferrersPageOptions {
  /** Start after this referrer (the `last` of the previous page). */
  after: Digest | null;
  limit: number;
  /** Descriptor bytes a page may carry; at least one descriptor is always included. */
  maxBytes: number;
  /** Keep only referrers of this artifactType. */
  artifactType: string | undefined;
}

/** Listing calls one page may make (1,000 entries each): a filter that matches little
 *  ends the page early, with a Link to go on, instead of scanning every referrer. */
const MAX_LIST_CALLS = 5;

/**
 * One page of the subject's referrers in digest order: up to `limit` descriptors and
 * `maxBytes` of them, as many listing pages as that takes (at most MAX_LIST_CALLS).
 * `last` is the last referrer the page looked at, where the next page starts.
 * Stored bodies are read only for the descriptors the page includes, so the storage reads
 * stay under maxBytes / INLINE_DESCRIPTOR_LIMIT plus the listing calls.
 */
export async function listReferrersPage(
  store: Storage,
  repo: string,
  subject: Digest,
  options: ReferrersPageOptions,
): Promise<{ descriptors: Descriptor[]; more: boolean; last: string | null }> {
  if (options.limit === 0) return { descriptors: [], more: false, last: null };
  const prefix = keys.referrerPrefix(repo, subject);
  const picked: { object: R2Object; inline: Descriptor | null }[] = [];
  let bytes = 0;
  let last: string | null = null;
  let cursor: string | undefined;
  let more = false;
  const wanted = (type: string | undefined) =>
    options.artifactType === undefined || type === undefined || type === options.artifactType;
  scan: for (let calls = 0; ; calls++) {
    if (calls === MAX_LIST_CALLS) {
      more = true;
      break;
    }
    const position = cursor
      ? { cursor }
      : { startAfter: options.after ? keys.referrer(repo, subject, options.after) : undefined };
    const page = await listPage(store, { prefix, ...position, include: ["customMetadata"], limit: 1000 });
    for (const object of page.objects) {
      const peek = peekReferrer(object);
      if (wanted(peek.artifactType)) {
        if (picked.length === options.limit || (picked.length > 0 && bytes + peek.bytes > options.maxBytes)) {
          more = true;
          break scan;
        }
        picked.push({ object, inline: peek.inline });
        bytes += peek.bytes;
      }
      last = digestFromKeySuffix(object.key);
    }
    cursor = page.cursor ?? undefined;
    if (!cursor) break;
  }
  const read = await Promise.all(picked.map((p) => p.inline ?? readReferrer(store, p.object)));
  const descriptors = read.filter(
    (d): d is Descriptor =>
      d !== null && (options.artifactType === undefined || d.artifactType === options.artifactType),
  );
  return { descriptors, more, last };
}

export async function addToCatalog(store: Storage, repo: string): Promise<void> {
  const key = keys.catalogEntry(repo);
  if (!(await store.bucket.head(key))) await store.bucket.put(key, null);
}
