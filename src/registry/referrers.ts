// GET /v2/<name>/referrers/<digest> ("Listing Referrers"): the manifests whose subject is a
// digest, as an image index, filtered by artifactType and paged. A mirrored repository asks
// its upstream; every other lists what was pushed here.
import { formatDigest, parseDigest, type Digest } from "../oci/digest";
import { MEDIA_TYPES, type Descriptor } from "../oci/manifest";
import { nextPageLink, parsePageQuery } from "../oci/pagination";
import { pullThroughReferrers } from "../proxy/listings";
import type { Deps } from "../storage/deps";
import { listReferrersPage } from "../storage/manifests";

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
  deps: Deps,
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
  const page = parsePageQuery(query, max);
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

/** Referrers one view of a manifest lists (the web UI's manifest page). */
export const VIEW_REFERRERS = 50;

/** The first referrers of `subject` stored here, for a view: VIEW_REFERRERS of them and
 *  REFERRERS_PAGE_BYTES of descriptors at most, as one API page; `more` when others follow. */
export async function listReferrersForView(
  deps: Deps,
  repo: string,
  subject: Digest,
): Promise<{ descriptors: Descriptor[]; more: boolean }> {
  const options = { after: null, limit: VIEW_REFERRERS, maxBytes: REFERRERS_PAGE_BYTES, artifactType: undefined };
  const { descriptors, more } = await listReferrersPage(deps.store, repo, subject, options);
  return { descriptors, more };
}
