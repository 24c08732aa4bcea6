// GET /v2/<name>/tags/list: a repository's tags, paged in lexical order (end-8a, end-8b). A
// mirrored repository lists its upstream's tags; every other lists what was pushed here.
import { RegistryError } from "../errors";
import { nextPageLink, parsePageQuery } from "../oci/pagination";
import { pullThroughTagList } from "../proxy/listings";
import type { Deps } from "../storage/deps";
import { listTagEntries, type TagEntry } from "../storage/browse";
import { formatDigest, type Digest } from "../oci/digest";
import { getTag, listTags } from "../storage/manifests";
import { repositoryExists } from "../storage/repositories";
import { mayLockTags, tagLockRule } from "./write-policy";

export interface TagPage {
  tags: string[];
  /** Link header value for the next page, or null on the last page. */
  link: string | null;
}

/** One page of the repository's tags (`n`, `last` as the client sent them). A repository
 *  never pushed to is NAME_UNKNOWN (end-8a), as distribution answers; a known repository with
 *  no tags left lists none. */
export async function listRepositoryTags(deps: Deps, repo: string, query: URLSearchParams): Promise<TagPage> {
  const upstream = await pullThroughTagList(deps, repo, query);
  if (upstream) return upstream;
  const max = deps.config.maxPageSize;
  const page = parsePageQuery(query, max);
  const { tags, more } = await listTags(deps.store, repo, page.limit ?? max, page.last);
  if (tags.length === 0 && !(await repositoryExists(deps.store, repo)))
    throw new RegistryError("NAME_UNKNOWN", `repository unknown: ${repo}`);
  const link =
    more && tags.length > 0 ? nextPageLink(`/v2/${repo}/tags/list`, page.limit, tags[tags.length - 1]!) : null;
  return { tags, link };
}

/** Tags one browse page lists (the web UI's repository page); each distinct manifest among
 *  them costs a read (registry/manifests.ts, readManifestsForView). */
export const BROWSE_PAGE_TAGS = 50;

export type { TagEntry };

/** One browse page of the repository's tags after `after`, in lexical order, each with its
 *  target and when it was tagged; `next` is the next page's `after`. NAME_UNKNOWN for a
 *  repository never pushed to. Lists what was pushed here, mirrored or not. */
export async function listTagEntriesPage(
  deps: Deps,
  repo: string,
  after: string | null,
): Promise<{ tags: TagEntry[]; next: string | null }> {
  if (!(await repositoryExists(deps.store, repo)))
    throw new RegistryError("NAME_UNKNOWN", `repository unknown: ${repo}`);
  const page = await listTagEntries(deps.store, repo, after, BROWSE_PAGE_TAGS);
  const last = page.tags[page.tags.length - 1];
  return { tags: page.tags, next: page.more && last ? last.tag : null };
}

/** Whether `tag` points at `digest` now. */
export async function tagPointsAt(deps: Deps, repo: string, tag: string, digest: Digest): Promise<boolean> {
  const target = await getTag(deps.store, repo, tag);
  return target !== null && formatDigest(target) === formatDigest(digest);
}

/** Tags one lock check of a manifest reads (the web UI's manifest page); a repository with
 *  more counts as locked past them, so a page never offers a delete the core would refuse. */
const LOCK_CHECK_TAGS = 1000;

/** What stops a delete of a manifest by digest for its tags (IMMUTABLE_TAGS_JSON): a locked
 *  tag pointing at it, or tags past LOCK_CHECK_TAGS that were not read. */
export type ManifestLock = { kind: "tag"; tag: string; rule: string } | { kind: "unchecked"; reason: string };

/** Whether a locked tag points at `digest`, for a front end deciding to offer a delete: no
 *  read when no rule covers the repository, else the first LOCK_CHECK_TAGS tags (at most
 *  three list calls). The delete itself checks every tag (registry/manifests.ts). */
export async function findManifestLock(deps: Deps, repo: string, digest: Digest): Promise<ManifestLock | null> {
  if (!mayLockTags(deps.config, repo)) return null;
  const target = formatDigest(digest);
  const page = await listTagEntries(deps.store, repo, null, LOCK_CHECK_TAGS);
  for (const { tag } of page.tags.filter((t) => t.digest === target)) {
    const rule = tagLockRule(deps.config, repo, tag);
    if (rule) return { kind: "tag", tag, rule };
  }
  if (!page.more) return null;
  return {
    kind: "unchecked",
    reason: `${repo} has more tags than one check reads (${LOCK_CHECK_TAGS}); an immutable one may point at this manifest`,
  };
}
