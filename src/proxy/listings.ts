// Tag lists and referrers of mirrored repositories, passed through from the upstream when it
// answers (it knows tags this cache has never seen). When no upstream answers, or it has no
// referrers API (distribution 2.8 answers 404), the caller falls back to what is cached.
// Only those failures fall back: any other error (a bug, storage) reaches the client.
import { RegistryError } from "../errors";
import { formatDigest, type Digest } from "../oci/digest";
import { MEDIA_TYPES, normalizeContentType } from "../oci/manifest";
import { routesFor, type UpstreamRoute } from "../config/upstreams";
import { UpstreamUnavailable } from "./upstream-client";
import { firstUpstream, readLimited, UpstreamCorrupt } from "./upstreams";
import type { Deps } from "../storage/deps";

/** Tag lists and referrer indexes are JSON documents; bigger answers are refused. */
const MAX_LISTING_BYTES = 4 * 1024 * 1024;

/** The upstreams' answer, or null when none could give one: unreachable, broken, not there,
 *  or an answer that is not the document asked for. */
async function tryUpstreams<T>(
  deps: Deps,
  routes: UpstreamRoute[],
  path: string,
  accept: (r: Response, route: UpstreamRoute) => Promise<T>,
): Promise<T | null> {
  try {
    return await firstUpstream(deps, routes, path, {}, accept, "NOT_FOUND");
  } catch (error) {
    if (error instanceof UpstreamUnavailable) return null;
    if (error instanceof RegistryError && error.code === "NOT_FOUND") return null;
    throw error;
  }
}

/** Parses an upstream's JSON document; anything unreadable is the upstream's fault. */
function parseUpstreamJson(bytes: Uint8Array): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof value === "object" && value !== null) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new UpstreamCorrupt("listing is not a JSON object");
}

/** The upstream's Link points at its own name for the repository; clients need ours. */
function rewriteLink(link: string | null, remoteName: string, repo: string): string | null {
  if (!link) return null;
  const match = /<([^>]*)>/.exec(link);
  if (!match) return null;
  const url = new URL(match[1]!, "http://upstream.invalid");
  if (url.pathname !== `/v2/${remoteName}/tags/list`) return null;
  return `</v2/${repo}/tags/list${url.search}>; rel="next"`;
}

export interface UpstreamTags {
  tags: string[];
  /** The Link header for the next page, rewritten to this registry's name. */
  link: string | null;
}

/** The upstream's tag list for a mirrored repository; null when it is not mirrored or no
 *  upstream answers. */
export async function pullThroughTagList(
  deps: Deps,
  repo: string,
  query: URLSearchParams,
): Promise<UpstreamTags | null> {
  const routes = routesFor(deps.config.proxy, repo);
  if (routes.length === 0) return null;
  const search = query.toString();
  return tryUpstreams(deps, routes, `tags/list${search ? `?${search}` : ""}`, async (response, route) => {
    const body = parseUpstreamJson(await readLimited(response.body, MAX_LISTING_BYTES));
    const tags = Array.isArray(body.tags) ? body.tags.filter((t): t is string => typeof t === "string") : [];
    return { tags, link: rewriteLink(response.headers.get("Link"), route.remoteName, repo) };
  });
}

export interface UpstreamReferrers {
  /** The upstream's image index, as it sent it. */
  index: Uint8Array;
  filtersApplied: string | null;
}

/** The upstream's referrers index; null when the repository is not mirrored, no upstream
 *  answers, or the upstream has no referrers API. */
export async function pullThroughReferrers(
  deps: Deps,
  repo: string,
  subject: Digest,
  artifactType: string | undefined,
): Promise<UpstreamReferrers | null> {
  const routes = routesFor(deps.config.proxy, repo);
  if (routes.length === 0) return null;
  const query = artifactType === undefined ? "" : `?${new URLSearchParams({ artifactType })}`;
  return tryUpstreams(deps, routes, `referrers/${formatDigest(subject)}${query}`, async (response) => {
    const type = normalizeContentType(response.headers.get("Content-Type"));
    const index = await readLimited(response.body, MAX_LISTING_BYTES);
    // Only a real image index counts; anything else means "no referrers API here".
    if (type !== MEDIA_TYPES.ociIndex || !Array.isArray(parseUpstreamJson(index).manifests))
      throw new UpstreamCorrupt("not a referrers index");
    return { index, filtersApplied: response.headers.get("OCI-Filters-Applied") };
  });
}
