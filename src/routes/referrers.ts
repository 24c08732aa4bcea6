// GET /v2/<name>/referrers/<digest> (end-12a/12b): an image index of the manifests whose
// subject is <digest>, filtered by ?artifactType=, paged with n/last and Link. An unknown
// subject gets an empty index.
import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireAccess } from "../auth/middleware";
import { parseDigest } from "../oci/digest";
import { MEDIA_TYPES } from "../oci/manifest";
import { listRepositoryReferrers } from "../registry/referrers";
import { deps } from "../http/request-deps";
import { repository } from "./params";

export const referrerRoutes = new Hono<AppEnv>();
const PATH = "/v2/:name{.+}/referrers/:digest";

referrerRoutes.use(PATH, repository);

referrerRoutes.get(PATH, async (c) => {
  const repo = c.get("repo");
  const subject = parseDigest(c.req.param("digest"));
  requireAccess(c, repo, "pull");
  const page = await listRepositoryReferrers(deps(c), repo, subject, new URL(c.req.url).searchParams);
  if (page.filtersApplied) c.header("OCI-Filters-Applied", "artifactType");
  if (page.link) c.header("Link", page.link);
  c.header("Content-Type", MEDIA_TYPES.ociIndex);
  return c.body(page.index, 200);
});
