// What each web UI page reads, through the storage layer and the registry core, with a fixed
// ceiling of storage operations per page whatever the bucket holds (the numbers below; the
// UI test counts them against a repository of 5,000 tags).
import type { Storage } from "../storage/storage";
import { hasAdminRight, type Identity } from "../auth/identity";
import { RegistryError } from "../errors";
import { listReports, reportFor, type StepReport } from "../gc/reports";
import { formatDigest, parseDigest, type Digest } from "../oci/digest";
import { listPullableRepositories } from "../registry/catalog";
import { fetchManifest } from "../registry/manifests";
import { readBlobData } from "../storage/blob-data";
import { getBlobLink } from "../storage/blobs";
import { countTags, listTagEntries, listUploadSessions, type TagEntry } from "../storage/browse";
import { getManifest, getTag, listReferrersPage } from "../storage/manifests";
import { repositoryExists } from "../storage/repositories";
import type { UploadState } from "../storage/uploads";
import {
  getBucketUsage,
  getRepositoryUsage,
  listRepositoryUsage,
  type BucketUsage,
  type RepositoryUsage,
} from "../storage/usage";
import { readBounded } from "../util/read-bounded";
import { mayPull } from "./access";
import {
  describeConfig,
  describeManifest,
  type ConfigView,
  type DescriptorView,
  type ManifestView,
} from "./manifest-view";

export const LIMITS = {
  /** Repositories per page; each costs a tag count and a usage read. */
  repositories: 25,
  /** Catalog list calls (1,000 names each) one page view may spend to fill a page. */
  catalogScanCalls: 5,
  /** Tags per repository page; each distinct manifest among them costs one read. */
  tags: 50,
  /** Index entries whose manifests an index page reads to show their layers. */
  children: 16,
  referrers: 50,
  /** Descriptor bytes of the referrers shown (the API's page cap). */
  referrerBytes: 256 * 1024,
  uploads: 20,
  reports: 10,
  /** Largest manifest or config the UI reads (the registry's manifest limit). */
  documentBytes: 4 * 1024 * 1024,
};

export interface RepositoryRow {
  name: string;
  tags: { count: number; more: boolean };
  lastPushAt: number;
  usage: RepositoryUsage | null;
}

/** One page of the repositories the caller may pull whose names contain `query`, through
 *  the catalog the API serves (registry/catalog.ts): its cursor past a scan that found too
 *  few is sealed, so the next-page link names no repository the caller may not see. */
export async function loadRepositories(
  store: Storage,
  identity: Identity,
  query: string,
  after: string | null,
  secret: string | null,
) {
  const matching: Identity = {
    ...identity,
    allows: (repo, action) => repo.includes(query) && identity.allows(repo, action),
  };
  const page = await listPullableRepositories(store, matching, {
    limit: LIMITS.repositories,
    last: after,
    secret,
    maxScanPages: LIMITS.catalogScanCalls,
  });
  const visible = page.names;
  const rows = await Promise.all(
    visible.map(async (name): Promise<RepositoryRow> => {
      const [tags, usage] = await Promise.all([countTags(store, name), getRepositoryUsage(store, name)]);
      return { name, tags, lastPushAt: Math.max(tags.lastTaggedAt, usage?.lastPushAt ?? 0), usage };
    }),
  );
  return { rows, next: page.next };
}

async function readDocument(body: ReadableStream | null): Promise<Uint8Array | null> {
  return readBounded(body, LIMITS.documentBytes);
}

export interface TagRow extends TagEntry {
  view: ManifestView | null;
}

/** One page of a repository's tags, each with what its manifest says. */
export async function loadRepository(store: Storage, repo: string, after: string | null) {
  if (!(await repositoryExists(store, repo))) throw new RegistryError("NAME_UNKNOWN", `repository unknown: ${repo}`);
  const [page, usage] = await Promise.all([
    listTagEntries(store, repo, after, LIMITS.tags),
    getRepositoryUsage(store, repo),
  ]);
  const digests = [...new Set(page.tags.map((t) => t.digest))];
  const views = new Map<string, ManifestView | null>();
  await Promise.all(
    digests.map(async (d) => {
      const manifest = await fetchManifest(store, repo, { kind: "digest", digest: parseDigest(d) }, true).catch(
        () => null,
      );
      const bytes = manifest ? await readDocument(manifest.body) : null;
      views.set(d, manifest && bytes ? describeManifest(bytes, manifest.contentType) : null);
    }),
  );
  const tags: TagRow[] = page.tags.map((t) => ({ ...t, view: views.get(t.digest) ?? null }));
  return { tags, next: page.more && tags.length > 0 ? tags[tags.length - 1]!.tag : null, usage };
}

async function loadConfig(
  store: Storage,
  repo: string,
  config: DescriptorView | undefined,
): Promise<ConfigView | null> {
  if (!config || config.size > LIMITS.documentBytes) return null;
  const digest = parseDigest(config.digest);
  const link = await getBlobLink(store, repo, digest);
  if (!link) return null;
  const body = await readBlobData(store, link.dataKey);
  const bytes = body ? await readDocument(body) : null;
  return bytes ? describeConfig(bytes) : null;
}

export interface ChildView {
  descriptor: DescriptorView;
  view: ManifestView | null;
}

/** An image or index with its config, the layers of its first platforms, and its referrers. */
export async function loadManifest(store: Storage, repo: string, digest: Digest, tag: string | null) {
  const stored = await getManifest(store, repo, digest, true);
  if (!stored) throw new RegistryError("MANIFEST_UNKNOWN", `manifest unknown: ${repo}@${formatDigest(digest)}`);
  const bytes = await readDocument(stored.body);
  if (!bytes) throw new RegistryError("MANIFEST_INVALID", "manifest too large to show");
  const view = describeManifest(bytes, stored.contentType);
  const [config, children, referrers, tagTarget] = await Promise.all([
    view.kind === "image" ? loadConfig(store, repo, view.config) : Promise.resolve(null),
    Promise.all(
      view.children.slice(0, LIMITS.children).map(async (descriptor): Promise<ChildView> => {
        const child = await getManifest(store, repo, parseDigest(descriptor.digest), true);
        const childBytes = child ? await readDocument(child.body) : null;
        return { descriptor, view: child && childBytes ? describeManifest(childBytes, child.contentType) : null };
      }),
    ),
    listReferrersPage(store, repo, digest, {
      after: null,
      limit: LIMITS.referrers,
      maxBytes: LIMITS.referrerBytes,
      artifactType: undefined,
    }),
    tag ? getTag(store, repo, tag) : Promise.resolve(null),
  ]);
  return {
    view,
    size: bytes.length,
    uploadedAt: stored.uploadedAt,
    config,
    children,
    childrenShown: Math.min(view.children.length, LIMITS.children),
    referrers: referrers.descriptors,
    moreReferrers: referrers.more,
    /** The tag, only while it still points here. */
    tag: tagTarget && formatDigest(tagTarget) === formatDigest(digest) ? tag : null,
  };
}

export interface StorageData {
  bucket: BucketUsage | null;
  repositories: { name: string; usage: RepositoryUsage }[];
  moreRepositories: boolean;
  reports: StepReport[] | null;
  uploads: UploadState[];
  moreUploads: boolean;
}

/** The storage page. Bucket-wide figures (bytes, blobs, the collector's reports, every
 *  upload session) are for admins; others see the repositories they may pull and the upload
 *  sessions they opened (an upload's owner is the subject that started it: storage/uploads.ts). */
export async function loadStorage(store: Storage, identity: Identity): Promise<StorageData> {
  const admin = hasAdminRight(identity);
  const [usage, repos, reports, uploads] = await Promise.all([
    admin ? getBucketUsage(store) : Promise.resolve(null),
    listRepositoryUsage(store, null, 1000),
    admin ? listReports(store, LIMITS.reports) : Promise.resolve(null),
    listUploadSessions(store, LIMITS.uploads),
  ]);
  const repositories = [...repos]
    .filter(([name]) => mayPull(identity, name))
    .map(([name, u]) => ({ name, usage: u }))
    .sort((a, b) => (b.usage.bytes ?? 0) - (a.usage.bytes ?? 0));
  return {
    bucket: usage,
    repositories,
    moreRepositories: repos.size >= 1000,
    reports: reports?.map((r) => reportFor(r, (repo) => mayPull(identity, repo))) ?? null,
    uploads: uploads.sessions.filter((s) => admin || s.owner === identity.subject),
    moreUploads: uploads.more,
  };
}
