// Storage figures the collector measures as it walks (so that no page view ever walks the
// bucket): per repository at the end of its pass, for the bucket at the end of the record
// walk. Each carries the time it was measured, which the web UI shows as "as of".
import type { Storage } from "./storage";
import { keys } from "./keys";
import { listUnder } from "./list";
import { bucketOf } from "./bindings";

export interface RepositoryUsage {
  tags: number;
  manifests: number;
  /** Bytes of the blobs the repository links plus its manifests; null when the pass could
   *  not list its links (a manifest it cannot parse keeps every link, unlisted). */
  bytes: number | null;
  /** Newest push or tag the pass saw (ms since the epoch), 0 for none. */
  lastPushAt: number;
  /** When the pass finished (ms since the epoch). */
  measuredAt: number;
}

export interface BucketUsage {
  /** Bytes of every blob record (each blob counted once, however many repositories link it). */
  bytes: number;
  blobs: number;
  /** The record walk's start and end: the figure describes the bucket between the two. */
  startedAt: number;
  measuredAt: number;
}

const FIELDS = ["tags", "manifests", "bytes", "lastPushAt", "measuredAt"] as const;

/** Kept in customMetadata, so a page of repositories reads all its figures in one list. */
export async function saveRepositoryUsage(store: Storage, repo: string, usage: RepositoryUsage): Promise<void> {
  const customMetadata = Object.fromEntries(FIELDS.map((f) => [f, usage[f] === null ? "" : String(usage[f])]));
  await bucketOf(store).put(keys.repoUsage(repo), null, { customMetadata });
}

function usageFromMetadata(meta: Record<string, string> | undefined): RepositoryUsage | null {
  if (!meta || meta.measuredAt === undefined) return null;
  const num = (f: (typeof FIELDS)[number]) => Number(meta[f] ?? 0);
  return {
    tags: num("tags"),
    manifests: num("manifests"),
    bytes: meta.bytes ? num("bytes") : null,
    lastPushAt: num("lastPushAt"),
    measuredAt: num("measuredAt"),
  };
}

/** Usage of the repositories in (after, upTo], in name order: one list of at most 1000. */
export async function listRepositoryUsage(
  store: Storage,
  after: string | null,
  limit: number,
): Promise<Map<string, RepositoryUsage>> {
  const listing = await listUnder(store, {
    prefix: keys.repoUsagePrefix(),
    after,
    limit: Math.min(1000, limit),
    maxCalls: 1,
    metadata: true,
  });
  const out = new Map<string, RepositoryUsage>();
  for (const { name, object } of listing.objects) {
    const usage = usageFromMetadata(object.customMetadata);
    if (usage) out.set(name, usage);
  }
  return out;
}

export async function getRepositoryUsage(store: Storage, repo: string): Promise<RepositoryUsage | null> {
  return usageFromMetadata((await bucketOf(store).head(keys.repoUsage(repo)))?.customMetadata);
}

export async function saveBucketUsage(store: Storage, usage: BucketUsage): Promise<void> {
  await bucketOf(store).put(keys.bucketUsage(), JSON.stringify(usage), {
    httpMetadata: { contentType: "application/json" },
  });
}

export async function getBucketUsage(store: Storage): Promise<BucketUsage | null> {
  const object = await bucketOf(store).get(keys.bucketUsage());
  return object ? ((await object.json()) as BucketUsage) : null;
}
