// What each web UI page shows, from the registry core's reads (registry/catalog.ts, tags.ts,
// manifests.ts, blobs.ts, referrers.ts, collection.ts, uploads.ts), which bound what a page
// reads whatever the bucket holds. Each document is reduced as it is read to the fields its
// page shows (manifest-view.ts, under the rendering caps of ui/limits.ts).
import type { Context } from "hono";
import type { BrowserSessionEnv } from "../auth/browser-session";
import { deps } from "../http/request-deps";
import { parseDigest, type Digest } from "../oci/digest";
import { parseActivityQuery, readActivity, recentActivity } from "../registry/activity";
import { readConfigForView } from "../registry/blobs";
import { repositoryUsage, storageOverview, type StorageOverview } from "../registry/collection";
import {
  readIndexEntriesForView,
  readManifestForView,
  readManifestsForView,
  ViewReadBudget,
  type ViewRead,
} from "../registry/manifests";
import { listReferrersForView } from "../registry/referrers";
import { findManifestLock, listTagEntriesPage, tagPointsAt, type TagEntry } from "../registry/tags";
import { listVisibleUploadSessions, type UploadState } from "../registry/uploads";
import { tagLockRule } from "../registry/write-policy";
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
  /** The immutable-tag rule that locks this tag (IMMUTABLE_TAGS_JSON), or null. */
  lockedBy: string | null;
}

function summarize(bytes: Uint8Array, contentType: string): ManifestSummary {
  const view = describeManifest(bytes, contentType, SUMMARY_CAPS);
  return {
    kind: view.kind,
    mediaType: view.mediaType,
    totalSize: view.totalSize,
    platforms: view.entries.map((e) => e.platform).filter((p): p is string => !!p && p !== "unknown/unknown"),
    entryCount: view.entryCount,
  };
}

/** A view read as a page shows it: the view, or null with whether the budget was spent. */
function shown<T>(read: ViewRead<T> | undefined): { view: T | null; unread: boolean } {
  return read === "unread" ? { view: null, unread: true } : { view: read ?? null, unread: false };
}

/** One page of a repository's tags, each with a summary of its manifest. */
export async function loadRepository(c: Context<BrowserSessionEnv>, repo: string, after: string | null) {
  const core = deps(c);
  const page = await listTagEntriesPage(core, repo, after);
  const [summaries, usage, activity] = await Promise.all([
    readManifestsForView(
      core,
      repo,
      page.tags.map((t) => t.digest),
      new ViewReadBudget(core),
      summarize,
    ),
    repositoryUsage(core, repo),
    // The first page only: later pages are for walking the tags.
    after === null ? recentActivity(core, c.get("identity"), repo) : Promise.resolve([]),
  ]);
  const tags: TagRow[] = page.tags.map((t) => {
    const { view, unread } = shown(summaries.get(t.digest));
    return { ...t, summary: view, unread, lockedBy: tagLockRule(core.config, repo, t.tag) };
  });
  return { tags, next: page.next, usage, activity };
}

export interface ChildView {
  descriptor: DescriptorView;
  view: ManifestView | null;
  /** The page's read budget was spent before this entry. */
  unread: boolean;
}

/** An image or index with its config, the layers of its first platforms, and its referrers. */
export async function loadManifest(c: Context<BrowserSessionEnv>, repo: string, digest: Digest, tag: string | null) {
  const core = deps(c);
  const budget = new ViewReadBudget(core);
  const stored = await readManifestForView(core, repo, digest, budget);
  const view = describeManifest(stored.bytes, stored.contentType, PAGE_CAPS);
  // Only its length from here on, so the bytes are not held while the platforms are read.
  const size = stored.bytes.length;
  const config = view.kind === "image" ? view.config : undefined;
  const [configBytes, platformViews, referrers, tagHere, lock] = await Promise.all([
    // An image has a config and no entries, an index the reverse: one document at a time
    // beside the page's own, or the core's reads in flight.
    config ? readConfigForView(core, repo, parseDigest(config.digest), config.size, budget) : Promise.resolve(null),
    view.kind === "index"
      ? readIndexEntriesForView(
          core,
          repo,
          view.entries.map((e) => e.digest),
          budget,
          (bytes, contentType) => describeManifest(bytes, contentType, PLATFORM_CAPS),
        )
      : Promise.resolve(new Map<string, ViewRead<ManifestView>>()),
    listReferrersForView(core, repo, digest),
    tag ? tagPointsAt(core, repo, tag, digest) : Promise.resolve(false),
    findManifestLock(core, repo, digest),
  ]);
  const configView: ConfigView | null = configBytes ? describeConfig(configBytes, PAGE_CAPS) : null;
  const platforms: ChildView[] =
    view.kind === "index"
      ? view.entries.map((descriptor) => ({ descriptor, ...shown(platformViews.get(descriptor.digest)) }))
      : [];
  return {
    view,
    size,
    uploadedAt: stored.uploadedAt,
    config: configView,
    /** Not `children`: the JSX runtime unwraps a one-element children array. */
    platforms,
    referrers: referrers.descriptors,
    moreReferrers: referrers.more,
    /** The tag, only while it still points here. */
    tag: tagHere ? tag : null,
    /** A locked tag pointing here: no delete by digest is offered. */
    lock,
  };
}

export interface StorageData extends StorageOverview {
  uploads: UploadState[];
  moreUploads: boolean;
}

/** The storage page: the collector's figures and the upload sessions in progress, as the
 *  caller may see them (bucket-wide figures and every session for admins). */
export async function loadStorage(c: Context<BrowserSessionEnv>): Promise<StorageData> {
  const core = deps(c);
  const identity = c.get("identity");
  const [overview, uploads] = await Promise.all([
    storageOverview(core, identity),
    listVisibleUploadSessions(core, identity),
  ]);
  return { ...overview, uploads: uploads.sessions, moreUploads: uploads.more };
}

/** One page of the activity log (admins; the route checks), from the page's query string. */
export async function loadActivity(c: Context<BrowserSessionEnv>, params: URLSearchParams) {
  const query = parseActivityQuery(params);
  const page = await readActivity(deps(c), c.get("identity"), query);
  return { query, events: page.entries, cursor: page.cursor };
}
