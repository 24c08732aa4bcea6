// GET /v2/<name>/referrers/<digest> (end-12a/12b): an image index of the manifests whose
// subject is <digest>, filtered by ?artifactType=. An unknown subject gets an empty index.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireAccess } from "../auth/middleware";
import { parseDigest } from "../oci/digest";
import { MEDIA_TYPES } from "../oci/manifest";
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
  let manifests = await listReferrers(c.env.REGISTRY, repo, subject);
  if (artifactType !== undefined) {
    manifests = manifests.filter((d) => d.artifactType === artifactType);
    c.header("OCI-Filters-Applied", "artifactType");
  }
  c.header("Content-Type", MEDIA_TYPES.ociIndex);
  return c.body(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }), 200);
});
