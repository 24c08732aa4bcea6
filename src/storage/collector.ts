// What the garbage collector reads and deletes, in its own terms: page-at-a-time walks of the
// catalog, a repository's tags, manifests and links, the bucket's blob records and data
// objects, and the deletes it makes once a condemnation held (storage/condemn.ts). Only the
// collector lists the bucket; request paths never do.
import type { Digest } from "../oci/digest";
import { keys } from "./keys";
import type { Storage } from "./storage";

/** One version of an object as a listing or a head saw it: its key, etag, upload time, size
 *  and customMetadata. The collector judges these and condemns them by etag. */
export type StoredObject = R2Object;

export interface ObjectPage {
  objects: StoredObject[];
  /** Where the next page starts, or null after the last one. */
  cursor: string | null;
}

async function page(store: Storage, options: R2ListOptions): Promise<ObjectPage> {
  const listed = await store.bucket.list(options);
  return { objects: listed.objects, cursor: listed.truncated ? listed.cursor : null };
}

/** The repository after `after` in the catalog, or null past the last one. */
export async function nextCatalogEntry(store: Storage, after: string | null): Promise<string | null> {
  const prefix = keys.catalogPrefix();
  const listed = await page(store, { prefix, startAfter: after ? prefix + after : undefined, limit: 1 });
  return listed.objects[0]?.key.slice(prefix.length) ?? null;
}

/** A page of the repository's tags with their metadata (digest, taggedAt). */
export async function listTagObjects(
  store: Storage,
  repo: string,
  cursor: string | null,
): Promise<ObjectPage & { prefix: string }> {
  const prefix = keys.tagPrefix(repo);
  return { prefix, ...(await page(store, { prefix, cursor: cursor ?? undefined, include: ["customMetadata"] })) };
}

/** A page of the repository's manifest keys. */
export async function listManifestKeys(
  store: Storage,
  repo: string,
  cursor: string | null,
  limit?: number,
): Promise<ObjectPage> {
  return page(store, { prefix: keys.manifestPrefix(repo), cursor: cursor ?? undefined, limit });
}

/** A stored manifest object with its bytes, by the key a listing gave. */
export async function readManifestAt(
  store: Storage,
  key: string,
): Promise<{ object: StoredObject; bytes: Uint8Array } | null> {
  const object = await store.bucket.get(key);
  return object ? { object, bytes: new Uint8Array(await object.arrayBuffer()) } : null;
}

export function readManifestObject(
  store: Storage,
  repo: string,
  digest: Digest,
): Promise<{ object: StoredObject; bytes: Uint8Array } | null> {
  return readManifestAt(store, keys.manifest(repo, digest));
}

/** A page of the repository's blob links with their metadata (data key, size, linkedAt). */
export function listBlobLinkObjects(
  store: Storage,
  repo: string,
  cursor: string | null,
  limit: number,
): Promise<ObjectPage> {
  return page(store, {
    prefix: keys.blobLinkPrefix(repo),
    cursor: cursor ?? undefined,
    limit,
    include: ["customMetadata"],
  });
}

/** A page of the bucket's blob records with their metadata. */
export function listBlobRecordObjects(store: Storage, cursor: string | null, limit: number): Promise<ObjectPage> {
  return page(store, {
    prefix: keys.blobRecordPrefix(),
    cursor: cursor ?? undefined,
    limit,
    include: ["customMetadata"],
  });
}

/** A page of the bucket's data objects (blob bytes). */
export function listDataObjects(store: Storage, cursor: string | null, limit: number): Promise<ObjectPage> {
  return page(store, { prefix: keys.dataPrefix(), cursor: cursor ?? undefined, limit });
}

/** Up to `limit` repositories that link the blob, read from its reverse links. */
export async function listLinkingRepositories(store: Storage, digest: Digest, limit: number): Promise<string[]> {
  const prefix = keys.blobRepos(digest);
  const listed = await page(store, { prefix, limit });
  return listed.objects.map((o) => o.key.slice(prefix.length));
}

/** Whether any repository links the blob: the re-check before a record is deleted. */
export async function blobHasLinks(store: Storage, digest: Digest): Promise<boolean> {
  return (await page(store, { prefix: keys.blobRepos(digest), limit: 1 })).objects.length > 0;
}

/** Whether the repository holds any manifest: the re-check before a stray link is deleted. */
export async function repositoryHasManifests(store: Storage, repo: string): Promise<boolean> {
  return (await page(store, { prefix: keys.manifestPrefix(repo), limit: 1 })).objects.length > 0;
}

export function headTagObject(store: Storage, repo: string, tag: string): Promise<StoredObject | null> {
  return store.bucket.head(keys.tag(repo, tag));
}

export function headBlobLinkObject(store: Storage, repo: string, digest: Digest): Promise<StoredObject | null> {
  return store.bucket.head(keys.blobLink(repo, digest));
}

/** Whether an upload session owns the data object (sessions write `_data/<session id>`). */
export async function dataHasSession(store: Storage, dataKey: string): Promise<boolean> {
  return (await store.bucket.head(keys.uploadState(dataKey.slice(keys.dataPrefix().length)))) !== null;
}

/** Deletes a condemned object whose re-check held, by the key it was judged under. */
export async function deleteJudged(store: Storage, object: StoredObject): Promise<void> {
  await store.bucket.delete(object.key);
}

/** Deletes a manifest and its entry in the subject's referrers, in one call. */
export async function deleteManifestWithReferrer(
  store: Storage,
  repo: string,
  digest: Digest,
  subject: Digest | null,
): Promise<void> {
  await store.bucket.delete([keys.manifest(repo, digest), ...(subject ? [keys.referrer(repo, subject, digest)] : [])]);
}

/** Deletes a blob record and the bytes it names, in one call. */
export async function deleteRecordWithData(store: Storage, record: StoredObject): Promise<void> {
  const data = record.customMetadata?.data;
  await store.bucket.delete([record.key, ...(data ? [data] : [])]);
}

/** Deletes data objects that no record names and no session owns. */
export async function deleteDataObjects(store: Storage, objects: StoredObject[]): Promise<void> {
  if (objects.length > 0) await store.bucket.delete(objects.map((o) => o.key));
}
