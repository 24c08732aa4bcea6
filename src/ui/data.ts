// What each web UI page reads, through the storage layer and the registry core, with a fixed
// ceiling of storage operations, document bytes and rows per page whatever the bucket holds
// (ui/limits.ts). Documents are read a few at a time, each reduced at once to the fields its
// page shows.
import type { Storage } from "../storage/storage";
import { hasAdminRight, type Identity } from "../registry/identity";
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
import { mapBounded } from "../util/map-bounded";
import { readBounded } from "../util/read-bounded";
import { mayPull } from "./access";
import { LIMITS } from "./limits";
import {
  describeConfig,
  describeManifest,
  type ConfigView,
  type DescriptorView,
  type ManifestView,
  type ViewCaps,
} from "./manifest-view";

/** The manifest page's own tables. */
const PAGE_CAPS: ViewCaps = { rows: LIMITS.rows, entries: LIMITS.children, textChars: LIMITS.textChars };
/** Each platform of an index page: its layers only. */
const PLATFORM_CAPS: ViewCaps = { rows: LIMITS.platformRows, entries: 0, textChars: LIMITS.textChars };
/** A repository page row: the size, and a few platform names of an index. */
const SUMMARY_CAPS: ViewCaps = { rows: 0, entries: LIMITS.platformNames, textChars: LIMITS.textChars };

/** One page view's allowance of document bytes (LIMITS.readBytes), spent before each read. */
class ReadBudget {
  private left = LIMITS.readBytes;

  /** Whether `size` more bytes fit; if they do, they are spent. */
  spend(size: number): boolean {
    if (size > this.left) return false;
    this.left -= size;
    return true;
  }
}

interface DocumentLimits {
  /** The registry's manifest limit (config.ts, maxManifestBytes), for configs too. */
  maxBytes: number;
  budget: ReadBudget;
}

/** A document's bytes; "unread" when the page's budget is spent; null when it is larger
 *  than any manifest may be. The body is cancelled when not read. */
async function readDocument(
  size: number,
  body: ReadableStream | null,
  limits: DocumentLimits,
): Promise<Uint8Array | "unread" | null> {
  const verdict = size > limits.maxBytes ? null : limits.budget.spend(size) ? "read" : "unread";
  if (verdict !== "read") {
    await body?.cancel().catch(() => {});
    return verdict;
  }
  return readBounded(body, limits.maxBytes);
}

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

/** What a repository page row shows of a manifest. */
export interface ManifestSummary {
  kind: ManifestView["kind"];
  mediaType: string;
  totalSize: number;
  /** Platform names of an index's first entries (LIMITS.platformNames), and its entries. */
  platforms: string[];
  entryCount: number;
}

export interface TagRow extends TagEntry {
  summary: ManifestSummary | null;
  /** The page's read budget was spent before this manifest. */
  unread: boolean;
}

async function readSummary(
  store: Storage,
  repo: string,
  digest: string,
  limits: DocumentLimits,
): Promise<ManifestSummary | "unread" | null> {
  const manifest = await fetchManifest({ store }, repo, { kind: "digest", digest: parseDigest(digest) }, true).catch(
    () => null,
  );
  if (!manifest) return null;
  const bytes = await readDocument(manifest.size, manifest.body, limits);
  if (bytes === null || bytes === "unread") return bytes;
  const view = describeManifest(bytes, manifest.contentType, SUMMARY_CAPS);
  return {
    kind: view.kind,
    mediaType: view.mediaType,
    totalSize: view.totalSize,
    platforms: view.entries.map((e) => e.platform).filter((p): p is string => !!p && p !== "unknown/unknown"),
    entryCount: view.entryCount,
  };
}

/** One page of a repository's tags, each with a summary of its manifest. */
export async function loadRepository(store: Storage, repo: string, after: string | null, maxDocumentBytes: number) {
  if (!(await repositoryExists(store, repo))) throw new RegistryError("NAME_UNKNOWN", `repository unknown: ${repo}`);
  const [page, usage] = await Promise.all([
    listTagEntries(store, repo, after, LIMITS.tags),
    getRepositoryUsage(store, repo),
  ]);
  const limits = { maxBytes: maxDocumentBytes, budget: new ReadBudget() };
  const digests = [...new Set(page.tags.map((t) => t.digest))];
  const summaries = new Map<string, ManifestSummary | "unread" | null>();
  await mapBounded(digests, LIMITS.readsInFlight, async (d) => {
    summaries.set(d, await readSummary(store, repo, d, limits));
  });
  const tags: TagRow[] = page.tags.map((t) => {
    const summary = summaries.get(t.digest) ?? null;
    return { ...t, summary: summary === "unread" ? null : summary, unread: summary === "unread" };
  });
  return { tags, next: page.more && tags.length > 0 ? tags[tags.length - 1]!.tag : null, usage };
}

async function loadConfig(
  store: Storage,
  repo: string,
  config: DescriptorView | undefined,
  limits: DocumentLimits,
): Promise<ConfigView | null> {
  if (!config || config.size > limits.maxBytes) return null;
  const digest = parseDigest(config.digest);
  const link = await getBlobLink(store, repo, digest);
  if (!link || link.size > limits.maxBytes || !limits.budget.spend(link.size)) return null;
  const body = await readBlobData(store, link);
  const bytes = body ? await readBounded(body, limits.maxBytes) : null;
  return bytes ? describeConfig(bytes, PAGE_CAPS) : null;
}

export interface ChildView {
  descriptor: DescriptorView;
  view: ManifestView | null;
  /** The page's read budget was spent before this entry. */
  unread: boolean;
}

/** An index's entries, each read once however often the index names it. */
async function loadPlatforms(
  store: Storage,
  repo: string,
  entries: DescriptorView[],
  limits: DocumentLimits,
): Promise<ChildView[]> {
  const views = new Map<string, ManifestView | "unread" | null>();
  const digests = [...new Set(entries.map((e) => e.digest))];
  await mapBounded(digests, LIMITS.readsInFlight, async (d) => {
    const child = await getManifest(store, repo, parseDigest(d), true);
    const bytes = child ? await readDocument(child.size, child.body, limits) : null;
    views.set(
      d,
      bytes === null || bytes === "unread" ? bytes : describeManifest(bytes, child!.contentType, PLATFORM_CAPS),
    );
  });
  return entries.map((descriptor) => {
    const view = views.get(descriptor.digest) ?? null;
    return { descriptor, view: view === "unread" ? null : view, unread: view === "unread" };
  });
}

/** An image or index with its config, the layers of its first platforms, and its referrers. */
export async function loadManifest(
  store: Storage,
  repo: string,
  digest: Digest,
  tag: string | null,
  maxDocumentBytes: number,
) {
  const stored = await getManifest(store, repo, digest, true);
  if (!stored) throw new RegistryError("MANIFEST_UNKNOWN", `manifest unknown: ${repo}@${formatDigest(digest)}`);
  const limits = { maxBytes: maxDocumentBytes, budget: new ReadBudget() };
  const bytes = await readDocument(stored.size, stored.body, limits);
  if (!bytes || bytes === "unread") throw new RegistryError("MANIFEST_INVALID", "manifest too large to show");
  const view = describeManifest(bytes, stored.contentType, PAGE_CAPS);
  // Only its length from here on, so the bytes are not held while the platforms are read.
  const size = bytes.length;
  const [config, platforms, referrers, tagTarget] = await Promise.all([
    // An image has a config and no entries, an index the reverse: one document at a time
    // beside the page's own, or LIMITS.readsInFlight.
    view.kind === "image" ? loadConfig(store, repo, view.config, limits) : Promise.resolve(null),
    view.kind === "index" ? loadPlatforms(store, repo, view.entries, limits) : Promise.resolve([]),
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
    size,
    uploadedAt: stored.uploadedAt,
    config,
    /** Not `children`: the JSX runtime unwraps a one-element children array. */
    platforms,
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
    reports: reports?.map((r) => reportFor(r, identity)) ?? null,
    uploads: uploads.sessions.filter((s) => admin || s.owner === identity.subject),
    moreUploads: uploads.more,
  };
}
