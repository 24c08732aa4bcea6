// The listings the web UI reads, each bounded by its caller's limit and a fixed number of R2
// calls: pages of tags with their targets, tag counts, upload sessions.
import type { Storage } from "./storage";
import { keys } from "./keys";
import { listUnder } from "./list";
import type { UploadState } from "./uploads";
import { bucketOf } from "./bindings";

/** R2 may return fewer objects than asked while truncated; at most this many calls fill one
 *  page, so a page's cost never depends on the repository's size. */
const MAX_LIST_CALLS = 3;

export interface TagEntry {
  tag: string;
  digest: string;
  taggedAt: number;
}

/** One page of tags in lexical order after `after`, with the digest each points to. */
export async function listTagEntries(
  store: Storage,
  repo: string,
  after: string | null,
  limit: number,
): Promise<{ tags: TagEntry[]; more: boolean }> {
  const listing = await listUnder(store, {
    prefix: keys.tagPrefix(repo),
    after,
    limit,
    maxCalls: MAX_LIST_CALLS,
    metadata: true,
  });
  const tags = listing.objects.map(({ name, object }) => ({
    tag: name,
    digest: object.customMetadata?.digest ?? "",
    taggedAt: Number(object.customMetadata?.taggedAt ?? object.uploaded.getTime()),
  }));
  return { tags, more: listing.cursor !== null };
}

/** A repository's tag count and newest tag time from one list call: exact below 1000 tags
 *  (R2's page), else a floor (`more`). Without customMetadata, which would shrink R2's page;
 *  a tag object is written when the tag is, so its upload time is the tag's time. */
export async function countTags(
  store: Storage,
  repo: string,
): Promise<{ count: number; more: boolean; lastTaggedAt: number }> {
  const listing = await listUnder(store, { prefix: keys.tagPrefix(repo), limit: 1000, maxCalls: 1 });
  const lastTaggedAt = listing.objects.reduce((max, o) => Math.max(max, o.object.uploaded.getTime()), 0);
  return { count: listing.objects.length, more: listing.cursor !== null, lastTaggedAt };
}

/** Upload sessions in progress, newest first among the first `limit` found. */
export async function listUploadSessions(
  store: Storage,
  limit: number,
): Promise<{ sessions: UploadState[]; more: boolean }> {
  const listing = await listUnder(store, {
    prefix: keys.uploadsPrefix(),
    limit: Math.min(1000, limit),
    maxCalls: 1,
    grouped: true,
  });
  const states = await Promise.all(
    listing.groups.slice(0, limit).map(async (id) => {
      const object = await bucketOf(store).get(keys.uploadState(id));
      return object ? ((await object.json()) as UploadState) : null;
    }),
  );
  const sessions = states.filter((s): s is UploadState => s !== null).sort((a, b) => b.updatedAt - a.updatedAt);
  return { sessions, more: listing.cursor !== null };
}
