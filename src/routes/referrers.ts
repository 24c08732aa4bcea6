// GET /v2/<name>/referrers/<digest> (end-12a/12b): an image index of the manifests whose
// subject is <digest>, filtered by ?artifactType=, paged with n/last and Link. An unknown
// subject gets an empty index.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireAccess } from "../auth/middleware";
import { formatDigest, parseDigest } from "../oci/digest";
import { MEDIA_TYPES, type Descriptor } from "../oci/manifest";
import { nextPageLink, parsePageRequest } from "../oci/pagination";
import { listReferrersPage } from "../storage/manifests";
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
  // Long lists page in digest order ("Listing Referrers": a Link header to the next page);
  // the filter applies before paging so every page is full.
  const after = page.last === null ? null : parseDigest(page.last);
  const keep = (d: Descriptor) => artifactType === undefined || d.artifactType === artifactType;
  const { descriptors: manifests, more } = await listReferrersPage(c.get("storage"), repo, subject, { after, limit, keep });
  if (artifactType !== undefined) c.header("OCI-Filters-Applied", "artifactType");
  if (more && manifests.length > 0) {
    const extra: Record<string, string> = artifactType === undefined ? {} : { artifactType };
    c.header("Link", nextPageLink(`/v2/${repo}/referrers/${formatDigest(subject)}`, page.limit, manifests[manifests.length - 1]!.digest, extra));
  }
  c.header("Content-Type", MEDIA_TYPES.ociIndex);
  return c.body(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }), 200);
});
