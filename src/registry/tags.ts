// GET /v2/<name>/tags/list: a repository's tags, paged in lexical order (end-8a, end-8b). A
// mirrored repository lists its upstream's tags; every other lists what was pushed here.
import { RegistryError } from "../errors";
import { nextPageLink, parsePageQuery } from "../oci/pagination";
import { pullThroughTagList } from "../proxy/listings";
import type { Deps } from "../storage/deps";
import { listTags } from "../storage/manifests";
import { repositoryExists } from "../storage/repositories";

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
