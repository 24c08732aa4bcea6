// Tag lists and referrers of mirrored repositories, passed through from the upstream when it
// answers (it knows tags this cache has never seen). When no upstream answers, or it has no
// referrers API (distribution 2.8 answers 404), the caller falls back to what is cached.
import { formatDigest, type Digest } from "../oci/digest";
import { MEDIA_TYPES, normalizeContentType } from "../oci/manifest";
import { routesFor, type UpstreamRoute } from "./config";
import { firstUpstream, readLimited, type ProxyDeps } from "./upstreams";

/** Tag lists and referrer indexes are JSON documents; bigger answers are refused. */
const MAX_LISTING_BYTES = 4 * 1024 * 1024;

async function tryUpstreams<T>(deps: ProxyDeps, routes: UpstreamRoute[], path: string, accept: (r: Response, route: UpstreamRoute) => Promise<T>): Promise<T | null> {
  try {
    return await firstUpstream(deps, routes, path, {}, accept, "NOT_FOUND");
  } catch {
    return null;
  }
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

export async function pullThroughTagList(deps: ProxyDeps, repo: string, query: URLSearchParams): Promise<Response | null> {
  const routes = routesFor(deps.config.proxy, repo);
  if (routes.length === 0) return null;
  const search = query.toString();
  return tryUpstreams(deps, routes, `tags/list${search ? `?${search}` : ""}`, async (response, route) => {
    const body = JSON.parse(new TextDecoder().decode(await readLimited(response.body, MAX_LISTING_BYTES))) as { tags?: unknown };
    const tags = Array.isArray(body.tags) ? body.tags.filter((t): t is string => typeof t === "string") : [];
    const headers = new Headers({ "Content-Type": "application/json" });
    const link = rewriteLink(response.headers.get("Link"), route.remoteName, repo);
    if (link) headers.set("Link", link);
    return new Response(JSON.stringify({ name: repo, tags }), { status: 200, headers });
  });
}

export async function pullThroughReferrers(deps: ProxyDeps, repo: string, subject: Digest, artifactType: string | undefined): Promise<Response | null> {
  const routes = routesFor(deps.config.proxy, repo);
  if (routes.length === 0) return null;
  const query = artifactType === undefined ? "" : `?${new URLSearchParams({ artifactType })}`;
  return tryUpstreams(deps, routes, `referrers/${formatDigest(subject)}${query}`, async (response) => {
    const type = normalizeContentType(response.headers.get("Content-Type"));
    const bytes = await readLimited(response.body, MAX_LISTING_BYTES);
    // Only a real image index counts; anything else means "no referrers API here".
    if (type !== MEDIA_TYPES.ociIndex) throw new Error("not a referrers index");
    const body = JSON.parse(new TextDecoder().decode(bytes)) as { manifests?: unknown };
    if (!Array.isArray(body.manifests)) throw new Error("not a referrers index");
    const headers = new Headers({ "Content-Type": MEDIA_TYPES.ociIndex });
    const filters = response.headers.get("OCI-Filters-Applied");
    if (filters) headers.set("OCI-Filters-Applied", filters);
    return new Response(bytes, { status: 200, headers });
  });
}
