// GET /v2/<name>/referrers/<digest> ("Listing Referrers"): the manifests whose subject is a
// digest, as an image index, filtered by artifactType and paged. A mirrored repository asks
// its upstream; every other lists what was pushed here. The filter and the page cut (count,
// bytes, Link) live here and nowhere else: storage only lists what it stored.
import { formatDigest, parseDigest, type Digest } from "../oci/digest";
import { MEDIA_TYPES, type Descriptor } from "../oci/manifest";
import { nextPageLink, parsePageQuery } from "../oci/pagination";
import { pullThroughReferrers } from "../proxy/listings";
import type { Deps } from "../storage/deps";
import { listStoredReferrers, readStoredReferrer, type StoredReferrer } from "../storage/manifests";

export interface ReferrersPage {
  /** The image index body: ours, or the upstream's as it sent it. */
  index: string;
  filtersApplied: boolean;
  link: string | null;
}

/** Descriptor bytes in one referrers response. With annotations capped at
 *  MAX_REFERRER_ANNOTATION_BYTES (registry/manifests.ts), a page holds at least 15
 *  descriptors of the largest kind, and reads at most 256 KiB / 1.5 KB ≈ 175 stored
 *  descriptors (only those past storage/manifests.ts's inline limit are read). */
export const REFERRERS_PAGE_BYTES = 256 * 1024;

/** Listing calls one page may make (1,000 entries each): a filter that matches little
 *  ends the page early, with a Link to go on, instead of scanning every referrer. */
const MAX_LIST_CALLS = 5;

/** The artifactType filter: with none every referrer is listed, with one only those whose
 *  artifactType is exactly it. */
export function matchesArtifactType(filter: string | undefined, artifactType: string | undefined): boolean {
  return filter === undefined || artifactType === filter;
}

interface ReferrersPageOptions {
  /** Start after this referrer (the `last` of the previous page). */
  after: Digest | null;
  limit: number;
  /** Descriptor bytes a page may carry; at least one descriptor is always included. */
  maxBytes: number;
  /** Keep only referrers of this artifactType. */
  artifactType: string | undefined;
}

/**
 * What a page does with the next stored referrer in digest order, before any descriptor is
 * read: "skip" one the filter rules out by the artifactType recorded at push ("" for none,
 * which only the read settles against an empty filter; one with none recorded is kept for
 * the read to decide), "stop" at the count or the byte cut (never before the first), else
 * "take".
 */
export function judgeReferrer(
  referrer: Pick<StoredReferrer, "artifactType" | "bytes">,
  taken: { count: number; bytes: number },
  options: Pick<ReferrersPageOptions, "limit" | "maxBytes" | "artifactType">,
): "take" | "skip" | "stop" {
  const recorded = referrer.artifactType;
  if (recorded !== undefined && !matchesArtifactType(options.artifactType, recorded)) return "skip";
  if (taken.count === options.limit || (taken.count > 0 && taken.bytes + referrer.bytes > options.maxBytes))
    return "stop";
  return "take";
}

/**
 * One page of the subject's referrers in digest order: up to `limit` descriptors and
 * `maxBytes` of them, from as many storage pages as that takes (at most MAX_LIST_CALLS).
 * `last` is the last referrer the page looked at, where the next page starts. Descriptors
 * kept in bodies are read only for the referrers the page takes.
 */
async function listReferrersPage(
  deps: Deps,
  repo: string,
  subject: Digest,
  options: ReferrersPageOptions,
): Promise<{ descriptors: Descriptor[]; more: boolean; last: string | null }> {
  if (options.limit === 0) return { descriptors: [], more: false, last: null };
  const { store } = deps;
  const taken: StoredReferrer[] = [];
  let bytes = 0;
  let last: string | null = null;
  let cursor: string | null = null;
  let more = false;
  scan: for (let calls = 0; ; calls++) {
    if (calls === MAX_LIST_CALLS) {
      more = true;
      break;
    }
    const page = await listStoredReferrers(store, repo, subject, options.after, cursor);
    for (const referrer of page.referrers) {
      const verdict = judgeReferrer(referrer, { count: taken.length, bytes }, options);
      if (verdict === "stop") {
        more = true;
        break scan;
      }
      if (verdict === "take") {
        taken.push(referrer);
        bytes += referrer.bytes;
      }
      last = formatDigest(referrer.digest);
    }
    cursor = page.cursor;
    if (cursor === null) break;
  }
  const read = await Promise.all(taken.map((r) => r.descriptor ?? readStoredReferrer(store, repo, subject, r.digest)));
  const descriptors = read.filter(
    (d): d is Descriptor => d !== null && matchesArtifactType(options.artifactType, d.artifactType),
  );
  return { descriptors, more, last };
}

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
  const { descriptors, more, last } = await listReferrersPage(deps, repo, subject, options);
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
  const { descriptors, more } = await listReferrersPage(deps, repo, subject, options);
  return { descriptors, more };
}
