// The listings the web UI reads, each bounded by its caller's limit and a fixed number of R2
// calls: pages of tags with their targets, tag counts, upload sessions.
import type { Storage } from "./storage";
import { keys } from "./keys";
import { listPage } from "./list";
import type { UploadState } from "./uploads";

/** R2 may return fewer objects than asked while truncated; at most this many calls fill one
 *  page, so a page's cost never depends on the repository's size. */
const MAX_LIST_CALLS = 3;

async function listWindow(
  store: Storage,
  prefix: string,
  after: string | null,
  limit: number,
  include?: R2ListOptions["include"],
) {
  const objects: R2Object[] = [];
  let cursor: string | undefined;
  let truncated = false;
  for (let calls = 0; calls < MAX_LIST_CALLS && objects.length < limit; calls++) {
    const position = cursor ? { cursor } : { startAfter: after === null ? undefined : prefix + after };
    const page = await listPage(store, { prefix, ...position, include, limit: Math.min(1000, limit - objects.length) });
    objects.push(...page.objects);
    cursor = page.cursor ?? undefined;
    truncated = cursor !== undefined;
    if (!truncated) break;
  }
  return { names: objects.map((o) => ({ name: o.key.slice(prefix.length), object: o })), more: truncated };
}

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
  const { names, more } = await listWindow(store, keys.tagPrefix(repo), after, limit, ["customMetadata"]);
  const tags = names.map(({ name, object }) => ({
    tag: name,
    digest: object.customMetadata?.digest ?? "",
    taggedAt: Number(object.customMetadata?.taggedAt ?? object.uploaded.getTime()),
  }));
  return { tags, more };
}

/** A repository's tag count and newest tag time from one list call: exact below 1000 tags
 *  (R2's page), else a floor (`more`). Without customMetadata, which would shrink R2's page;
 *  a tag object is written when the tag is, so its upload time is the tag's time. */
export async function countTags(
  store: Storage,
  repo: string,
): Promise<{ count: number; more: boolean; lastTaggedAt: number }> {
  const page = await listPage(store, { prefix: keys.tagPrefix(repo), limit: 1000 });
  const lastTaggedAt = page.objects.reduce((max, o) => Math.max(max, o.uploaded.getTime()), 0);
  return { count: page.objects.length, more: page.cursor !== null, lastTaggedAt };
}

/** Upload sessions in progress, newest first among the first `limit` found. */
export async function listUploadSessions(
  store: Storage,
  limit: number,
): Promise<{ sessions: UploadState[]; more: boolean }> {
  const page = await store.bucket.list({ prefix: keys.uploadsPrefix(), delimiter: "/", limit: Math.min(1000, limit) });
  const prefixes = page.delimitedPrefixes;
  const states = await Promise.all(
    prefixes.slice(0, limit).map(async (p) => {
      const object = await store.bucket.get(keys.uploadState(p.slice(keys.uploadsPrefix().length, -1)));
      return object ? ((await object.json()) as UploadState) : null;
    }),
  );
  const sessions = states.filter((s): s is UploadState => s !== null).sort((a, b) => b.updatedAt - a.updatedAt);
  return { sessions, more: page.truncated };
}
