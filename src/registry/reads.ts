// The read paths where a repository may be a mirror: manifests, tag lists and referrers.
// The core picks the source (the pull-through cache for a mirrored repository, local storage
// otherwise) so routes only render what comes back.
import { RegistryError } from "../errors";
import { formatDigest, parseDigest, type Digest } from "../oci/digest";
import { MEDIA_TYPES } from "../oci/manifest";
import { nextPageLink, parsePageRequest } from "../oci/pagination";
import type { Reference } from "../oci/reference";
import { pullThroughReferrers, pullThroughTagList } from "../proxy/listings";
import { pullThroughManifest, type ProxiedManifest } from "../proxy/manifests";
import { listReferrersPage, listTags } from "../storage/manifests";
import { repositoryExists } from "../storage/repositories";
import type { RegistryDeps } from "./deps";
import { fetchManifest } from "./manifests";

/** A manifest as served: stored here, or from an upstream (then perhaps with a Warning). */
export type ServedManifest = ProxiedManifest;

export async function findManifest(
  deps: RegistryDeps,
  repo: string,
  reference: Reference,
  withBody: boolean,
): Promise<ServedManifest> {
  return (
    (await pullThroughManifest(deps, repo, reference, withBody)) ??
    (await fetchManifest(deps.store, repo, reference, withBody))
  );
}

export interface TagPage {
  tags: string[];
  /** Link header value for the next page, or null on the last page. */
  link: string | null;
}

/** One page of the repository's tags (`n`, `last` as the client sent them). A repository
 *  never pushed to is NAME_UNKNOWN (end-8a), as distribution answers; a known repository with
 *  no tags left lists none. */
export async function listRepositoryTags(deps: RegistryDeps, repo: string, query: URLSearchParams): Promise<TagPage> {
  const upstream = await pullThroughTagList(deps, repo, query);
  if (upstream) return upstream;
  const max = deps.config.maxPageSize;
  const page = parsePageRequest(query.get("n") ?? undefined, query.get("last") ?? undefined, max);
  const { tags, more } = await listTags(deps.store, repo, page.limit ?? max, page.last);
  if (tags.length === 0 && !(await repositoryExists(deps.store, repo)))
    throw new RegistryError("NAME_UNKNOWN", `repository unknown: ${repo}`);
  const link =
    more && tags.length > 0 ? nextPageLink(`/v2/${repo}/tags/list`, page.limit, tags[tags.length - 1]!) : null;
  return { tags, link };
}

export interface ReferrersPage {
  /** The image index body: ours, or the upstream's as it sent it. */
  index: string;
  filtersApplied: boolean;
  link: string | null;
}

/** Descriptor bytes in one referrers response. With annotations capped at
 *  MAX_REFERRER_ANNOTATION_BYTES (registry/manifests.ts), a page holds at least 15
 *  descriptors of the largest kind, and reads at most 256 KiB / 1.5 KB ≈ 175 stored
 *  descriptors (storage/manifests.ts). */
export const REFERRERS_PAGE_BYTES = 256 * 1024;

/** The referrers of `subject` as an image index, filtered by artifactType, paged in digest
 *  order ("Listing Referrers"), cut by count and by bytes, with a Link to the next page. */
export async function listRepositoryReferrers(
  deps: RegistryDeps,
  repo: string,
  subject: Digest,
  query: URLSearchParams,
): Promise<ReferrersPage> {
  const artifactType = query.get("artifactType") ?? undefined;
  const upstream = await pullThroughReferrers(deps, repo, subject, artifactType);
  if (upstream)
    return {
      index: new TextDecoder().decode(upstream.index),
      filtersApplied: upstream.filtersApplied !== null,
      link: null,
    };
  const max = deps.config.maxPageSize;
  const page = parsePageRequest(query.get("n") ?? undefined, query.get("last") ?? undefined, max);
  const after = page.last === null ? null : parseDigest(page.last);
  const options = { after, limit: page.limit ?? max, maxBytes: REFERRERS_PAGE_BYTES, artifactType };
  const { descriptors, more, last } = await listReferrersPage(deps.store, repo, subject, options);
  let link: string | null = null;
  if (more && last !== null) {
    const extra: Record<string, string> = artifactType === undefined ? {} : { artifactType };
    link = nextPageLink(`/v2/${repo}/referrers/${formatDigest(subject)}`, page.limit, last, extra);
  }
  const index = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: descriptors });
  return { index, filtersApplied: artifactType !== undefined, link };
}
