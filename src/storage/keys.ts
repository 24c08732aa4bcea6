// Every R2 key the registry uses is built here, and nowhere else.
//
// bucket
// ├── _blobs/<alg>/<hex>                    blob record: which data object holds the bytes,
// │                                          and their size (customMetadata). One per bucket.
// ├── _data/<upload-id>                     the blob's bytes, written once by the upload that
// │                                          brought them and never copied (no rename in R2)
// ├── _blob-repos/<alg>/<hex>/<name>        reverse link: repository <name> holds the blob;
// │                                          mounts without `from` and GC list these
// ├── _uploads/<upload-id>/state            upload session (JSON), written with etag checks
// ├── _uploads/<upload-id>/tail/<n>         bytes of an upload not yet a full multipart part
// ├── _catalog/<name>                       one empty object per repository, for _catalog
// ├── _gc/state                             collector cursor and working set (src/gc)
// ├── _gc/upload-expiry-cursor              where the cron's upload-expiry sweep resumes
// ├── _gc/lock                              lease: one collector step at a time
// ├── _gc/live-data                         filter of data keys records point to
// ├── _gc/reports/<inverted-time>-<id>      one report per collector step, newest first
// ├── _usage/bucket                         bytes stored, as the collector's record walk
// │                                          last measured them (src/storage/usage.ts)
// ├── _usage/repos/<name>                   one repository's tags, manifests and bytes, as
// │                                          the collector's last pass over it measured them
// ├── _events/log/<inverted-ms>-<event-id>  activity log: one event each, newest first;
// │                                          expires after EVENTS_RETENTION_DAYS
// ├── _events/dead/<inverted-ms>-<event-id>-<webhook>  a delivery that ran out of retries
// │                                          (the dead-letter queue's consumer wrote it)
// ├── _proxy/fetching/<alg>/<hex>           short-lived marker: one pull-through fetch of this
// │                                          blob from an upstream is under way
// └── _repos/<name>/
//     ├── _blobs/<alg>/<hex>                link: the repository holds this blob
//     ├── _manifests/<alg>/<hex>            manifest bytes, exactly as pushed
//     ├── _tags/<tag>                       tag → manifest digest (customMetadata)
//     └── _referrers/<alg>/<hex>/<alg>/<hex>  subject → referrer descriptor
//
// Repository names come from the spec's grammar, whose components never start with "_", so
// "<name>/_tags/..." cannot be confused with a longer repository name, and no name can reach
// a top-level "_" area.
import type { Digest } from "../oci/digest";

const digestPath = (d: Digest) => `${d.algorithm}/${d.hex}`;

export const keys = {
  blobRecord: (d: Digest) => `_blobs/${digestPath(d)}`,
  blobRecordPrefix: () => `_blobs/`,
  blobData: (uploadId: string) => `_data/${uploadId}`,
  /** A public image's blob in the public bucket (PUBLIC_BLOBS), which holds nothing else:
   *  the path its custom domain serves it at. */
  publicBlob: (d: Digest) => `blobs/${digestPath(d)}`,
  blobRepos: (d: Digest) => `_blob-repos/${digestPath(d)}/`,
  blobRepo: (d: Digest, name: string) => `_blob-repos/${digestPath(d)}/${name}`,

  uploadPrefix: (uploadId: string) => `_uploads/${uploadId}/`,
  uploadsPrefix: () => `_uploads/`,
  uploadState: (uploadId: string) => `_uploads/${uploadId}/state`,
  uploadTail: (uploadId: string, generation: number) => `_uploads/${uploadId}/tail/${generation}`,

  catalogPrefix: () => `_catalog/`,
  catalogEntry: (name: string) => `_catalog/${name}`,

  gcState: () => `_gc/state`,
  uploadExpiryCursor: () => `_gc/upload-expiry-cursor`,
  gcDryRunState: () => `_gc/dry-run-state`,
  gcLock: () => `_gc/lock`,
  gcLiveData: () => `_gc/live-data`,
  dataPrefix: () => `_data/`,
  blobReposPrefix: () => `_blob-repos/`,
  gcReportPrefix: () => `_gc/reports/`,
  gcReport: (id: string) => `_gc/reports/${id}`,

  bucketUsage: () => `_usage/bucket`,
  repoUsagePrefix: () => `_usage/repos/`,
  repoUsage: (name: string) => `_usage/repos/${name}`,
  /** KV, not R2: a web UI session (src/storage/sessions.ts); deleted at logout. */
  uiSessionKv: (id: string) => `ui-session:${id}`,

  activityPrefix: () => `_events/log/`,
  activity: (name: string) => `_events/log/${name}`,
  deadDeliveryPrefix: () => `_events/dead/`,
  deadDelivery: (name: string) => `_events/dead/${name}`,

  proxyFetch: (d: Digest) => `_proxy/fetching/${digestPath(d)}`,
  /** KV, not R2: a cached upstream token, under a hash of upstream, user and scope. */
  proxyTokenKv: (hash: string) => `proxy-token:${hash}`,

  repoPrefix: (name: string) => `_repos/${name}/`,
  blobLink: (name: string, d: Digest) => `_repos/${name}/_blobs/${digestPath(d)}`,
  blobLinkPrefix: (name: string) => `_repos/${name}/_blobs/`,
  manifest: (name: string, d: Digest) => `_repos/${name}/_manifests/${digestPath(d)}`,
  manifestPrefix: (name: string) => `_repos/${name}/_manifests/`,
  tag: (name: string, tag: string) => `_repos/${name}/_tags/${tag}`,
  tagPrefix: (name: string) => `_repos/${name}/_tags/`,
  referrer: (name: string, subject: Digest, referrer: Digest) =>
    `_repos/${name}/_referrers/${digestPath(subject)}/${digestPath(referrer)}`,
  referrerPrefix: (name: string, subject: Digest) => `_repos/${name}/_referrers/${digestPath(subject)}/`,
} as const;

/** Reads "<alg>/<hex>" back from the end of a key. */
export function digestFromKeySuffix(key: string): string {
  const parts = key.split("/");
  return `${parts[parts.length - 2]}:${parts[parts.length - 1]}`;
}
