// /v2/<name>/blobs/<digest>: GET and HEAD (end-2, with Range), DELETE (end-10).
import { Hono } from "hono";
import { requireAccess } from "../auth/middleware";
import type { AppEnv } from "../http/app-env";
import { deps } from "../http/request-deps";
import { parseDigest } from "../oci/digest";
import { deleteBlob, serveBlob } from "../registry/blobs";
import { repository } from "./params";

export const blobRoutes = new Hono<AppEnv>();

const PATH = "/v2/:name{.+}/blobs/:digest";

blobRoutes.use(PATH, repository);

blobRoutes.get(PATH, async (c) => {
  const repo = c.get("repo");
  const digest = parseDigest(c.req.param("digest"));
  requireAccess(c, repo, "pull");
  const answer = await serveBlob(deps(c), repo, digest, c.req.raw);
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
});

blobRoutes.delete(PATH, async (c) => {
  const repo = c.get("repo");
  const identity = requireAccess(c, repo, "delete");
  await deleteBlob(deps(c), identity, repo, parseDigest(c.req.param("digest")));
  return c.body(null, 202);
});
