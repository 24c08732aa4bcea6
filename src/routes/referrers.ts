// GET /v2/<name>/referrers/<digest> (end-12a/12b): an image index of the manifests whose
// subject is <digest>, filtered by ?artifactType=, paged with n/last and Link. An unknown
// subject gets an empty index.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireAccess } from "../auth/middleware";
import { formatDigest, parseDigest } from "../oci/digest";
import { MEDIA_TYPES } from "../oci/manifest";
import { nextPageLink, parsePageRequest } from "../oci/pagination";
import { listReferrers } from "../storage/manifests";
import { repoName } from "./params";
import { proxyDeps } from "../proxy/hooks";
import { pullThroughReferrers } from "../proxy/listings";

export const referrerRoutes = new Hono<AppEnv>();

referrerRoutes.get("/v2/:name{.+}/referrers/:digest", async (c) => {
  const repo = repoName(c);
  const subject = parseDigest(c.req.param("digest"));
  requireAccess(c, repo, "pull");
  const artifactType = c.req.query("artifactType");
  const upstream = await pullThroughReferrers(proxyDeps(c), repo, subject, artifactType);
  if (upstream) return upstream;
  const config = c.get("config");
  const page = parsePageRequest(c.req.query("n"), c.req.query("last"), config.maxPageSize);
  const limit = page.limit ?? config.maxPageSize;
  let manifests = await listReferrers(c.env.REGISTRY, repo, subject);
  if (artifactType !== undefined) {
    manifests = manifests.filter((d) => d.artifactType === artifactType);
    c.header("OCI-Filters-Applied", "artifactType");
  }
  // Long lists page in digest order ("Listing Referrers": a Link header to the next page);
  // the filter applies before paging so every page is full.
  manifests.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  if (page.last !== null) manifests = manifests.filter((d) => d.digest > page.last!);
  if (manifests.length > limit) {
    manifests = manifests.slice(0, limit);
    const extra: Record<string, string> = artifactType === undefined ? {} : { artifactType };
    if (limit > 0) c.header("Link", nextPageLink(`/v2/${repo}/referrers/${formatDigest(subject)}`, page.limit, manifests[limit - 1]!.digest, extra));
  }
  c.header("Content-Type", MEDIA_TYPES.ociIndex);
  return c.body(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }), 200);
});
