// What the garbage collector reads and deletes, in its own terms: page-at-a-time walks of the
// catalog, a repository's tags, manifests and links, the bucket's blob records and data
// objects, and the deletes it makes once a condemnation held (storage/condemn.ts). Each
// record it judges carries the version it was read at, which condemn() needs. Only the
// collector lists the bucket this way; request paths never do.
import { parseDigest, type Digest } from "../oci/digest";
import { condemnedAt, type Judged } from "./condemn";
import { digestFromKeySuffix, keys } from "./keys";
import { listUnder, type Listing } from "./list";
import { headOf, versionOf, type ObjectHead, type ObjectVersion } from "./object-version";
import type { Storage } from "./storage";
import { bucketOf, publicBucketOf } from "./bindings";

export interface Page<T> {
  items: T[];
  /** Where the next page starts, or null after the last one. */
  cursor: string | null;
}

/** A tag as the collector judges it. */
export interface TagVersion {
  tag: string;
  /** The manifest digest it points to ("" when the tag object carries none). */
  digest: string;
  /** When it was tagged: its stamp, else the object's upload time. */
  writtenAt: number;
  version: ObjectVersion;
}

/** A stored manifest with its bytes, as the collector reads it into its graph. */
export interface ManifestVersion {
  digest: string;
  contentType: string | undefined;
  /** When it was last pushed: its stamp, else the object's upload time. */
  writtenAt: number;
  bytes: Uint8Array;
  version: ObjectVersion;
}

/** A repository's link to a blob. */
export interface LinkVersion {
  digest: string;
  size: number;
  /** When it was last linked: its stamp, else the object's upload time. */
  writtenAt: number;
  version: ObjectVersion;
}

/** A blob's bucket-wide record. */
export interface BlobRecordVersion {
  digest: string;
  /** The data object it names (the live-data filter holds these), null when it names none. */
  dataKey: string | null;
  size: number;
  writtenAt: number;
  /** When a collector condemned it, if one did and never decided. */
  condemnedAt: number | null;
  version: ObjectVersion;
}

/** Bytes of a blob, or of an upload that never became one. */
export interface DataObject {
  dataKey: string;
  size: number;
  writtenAt: number;
}

/** When an object was written or last linked: its stamp, else R2's upload time. */
function writtenAt(head: ObjectHead, stamp: "linkedAt" | "taggedAt"): number {
  const raw = head.customMetadata?.[stamp];
  return raw === undefined ? head.uploaded.getTime() : Number(raw);
}

function pageOf<T>(listing: Listing, item: (object: ObjectHead) => T): Page<T> {
  return { items: listing.objects.map((o) => item(o.object)), cursor: listing.cursor };
}

function tagVersion(head: ObjectHead, tag: string): TagVersion {
  const digest = head.customMetadata?.digest ?? "";
  return { tag, digest, writtenAt: writtenAt(head, "taggedAt"), version: versionOf(head) };
}

const sizeOf = (head: ObjectHead) => Number(head.customMetadata?.size ?? 0);

function linkVersion(head: ObjectHead): LinkVersion {
  const digest = digestFromKeySuffix(head.key);
  return { digest, size: sizeOf(head), writtenAt: writtenAt(head, "linkedAt"), version: versionOf(head) };
}

/** The repository after `after` in the catalog, or null past the last one. */
export async function nextCatalogEntry(store: Storage, after: string | null): Promise<string | null> {
  const listed = await listUnder(store, { prefix: keys.catalogPrefix(), after, limit: 1, maxCalls: 1 });
  return listed.objects[0]?.name ?? null;
}

/** A page of the repository's tags (up to 1,000, fewer when R2 says so). */
export async function listTagVersions(store: Storage, repo: string, cursor: string | null): Promise<Page<TagVersion>> {
  const listing = await listUnder(store, {
    prefix: keys.tagPrefix(repo),
    cursor,
    limit: 1000,
    maxCalls: 1,
    metadata: true,
  });
  return { items: listing.objects.map((o) => tagVersion(o.object, o.name)), cursor: listing.cursor };
}

/** A page of the digests of the repository's manifests. */
export async function listManifestDigests(
  store: Storage,
  repo: string,
  cursor: string | null,
  limit = 1000,
): Promise<Page<string>> {
  const listing = await listUnder(store, { prefix: keys.manifestPrefix(repo), cursor, limit, maxCalls: 1 });
  return pageOf(listing, (o) => digestFromKeySuffix(o.key));
}

/** A stored manifest with its bytes, or null when it is gone. */
export async function readManifestVersion(
  store: Storage,
  repo: string,
  digest: Digest,
): Promise<ManifestVersion | null> {
  const object = await bucketOf(store).get(keys.manifest(repo, digest));
  if (!object) return null;
  return {
    digest: digestFromKeySuffix(object.key),
    contentType: object.httpMetadata?.contentType,
    writtenAt: writtenAt(object, "linkedAt"),
    bytes: new Uint8Array(await object.arrayBuffer()),
    version: versionOf(object),
  };
}

/** A page of the repository's blob links. */
export async function listLinkVersions(
  store: Storage,
  repo: string,
  cursor: string | null,
  limit: number,
): Promise<Page<LinkVersion>> {
  const listing = await listUnder(store, {
    prefix: keys.blobLinkPrefix(repo),
    cursor,
    limit,
    maxCalls: 1,
    metadata: true,
  });
  return pageOf(listing, linkVersion);
}

/** A page of the bucket's blob records. */
export async function listBlobRecordVersions(
  store: Storage,
  cursor: string | null,
  limit: number,
): Promise<Page<BlobRecordVersion>> {
  const listing = await listUnder(store, {
    prefix: keys.blobRecordPrefix(),
    cursor,
    limit,
    maxCalls: 1,
    metadata: true,
  });
  return pageOf(listing, (o) => ({
    digest: digestFromKeySuffix(o.key),
    dataKey: o.customMetadata?.data || null,
    size: sizeOf(o),
    writtenAt: o.uploaded.getTime(),
    condemnedAt: condemnedAt(o),
    version: versionOf(o),
  }));
}

/** A page of the bucket's data objects (blob bytes). */
export async function listDataObjects(store: Storage, cursor: string | null, limit: number): Promise<Page<DataObject>> {
  const listing = await listUnder(store, { prefix: keys.dataPrefix(), cursor, limit, maxCalls: 1 });
  return pageOf(listing, (o) => ({ dataKey: o.key, size: o.size, writtenAt: o.uploaded.getTime() }));
}

/** Up to `limit` repositories that link the blob, read from its reverse links. */
export async function listLinkingRepositories(store: Storage, digest: Digest, limit: number): Promise<string[]> {
  const listing = await listUnder(store, { prefix: keys.blobRepos(digest), limit, maxCalls: 1 });
  return listing.objects.map((o) => o.name);
}

/** Whether any repository links the blob: the re-check before a record is deleted. */
export async function blobHasLinks(store: Storage, digest: Digest): Promise<boolean> {
  return (await listLinkingRepositories(store, digest, 1)).length > 0;
}

/** Whether the repository holds any manifest: the re-check before a stray link is deleted. */
export async function repositoryHasManifests(store: Storage, repo: string): Promise<boolean> {
  return (await listManifestDigests(store, repo, null, 1)).items.length > 0;
}

export async function headTagVersion(store: Storage, repo: string, tag: string): Promise<TagVersion | null> {
  const head = await bucketOf(store).head(keys.tag(repo, tag));
  return head ? tagVersion(head, tag) : null;
}

export async function headLinkVersion(store: Storage, repo: string, digest: Digest): Promise<LinkVersion | null> {
  const head = await bucketOf(store).head(keys.blobLink(repo, digest));
  return head ? linkVersion(head) : null;
}

/** Whether an upload session owns the data object (sessions write `_data/<session id>`). */
export async function dataHasSession(store: Storage, dataKey: string): Promise<boolean> {
  return (await bucketOf(store).head(keys.uploadState(dataKey.slice(keys.dataPrefix().length)))) !== null;
}

/** Deletes a condemned object whose re-check held, as it was judged. */
export async function deleteJudged(store: Storage, judged: Judged): Promise<void> {
  await bucketOf(store).delete(headOf(judged.version).key);
}

/** Deletes a manifest and its entry in the subject's referrers, in one call. */
export async function deleteManifestWithReferrer(
  store: Storage,
  repo: string,
  digest: Digest,
  subject: Digest | null,
): Promise<void> {
  await bucketOf(store).delete([
    keys.manifest(repo, digest),
    ...(subject ? [keys.referrer(repo, subject, digest)] : []),
  ]);
}

/** Deletes a blob record and the bytes it names, in one call, and the blob's copy in the
 *  public bucket (storage/public-blobs.ts) when one is bound: a freed blob is served nowhere. */
export async function deleteRecordWithData(store: Storage, record: BlobRecordVersion): Promise<void> {
  await bucketOf(store).delete([headOf(record.version).key, ...(record.dataKey ? [record.dataKey] : [])]);
  await publicBucketOf(store)?.delete(keys.publicBlob(parseDigest(record.digest)));
}

/** Deletes data objects that no record names and no session owns. */
export async function deleteDataObjects(store: Storage, objects: DataObject[]): Promise<void> {
  if (objects.length > 0) await bucketOf(store).delete(objects.map((o) => o.dataKey));
}
