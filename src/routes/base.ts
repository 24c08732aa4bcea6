// GET /v2/: the API version check (end-1), and GET /v2/_catalog with n/last paging, listing
// only the repositories the caller may pull.
import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireCatalog, requireSignedIn } from "../auth/middleware";
import { nextPageLink, parsePageRequest } from "../oci/pagination";
import { listPullableRepositories } from "../registry/catalog";

export const baseRoutes = new Hono<AppEnv>();

baseRoutes.get("/v2/", (c) => {
  requireSignedIn(c);
  return c.json({});
});

baseRoutes.get("/v2/_catalog", async (c) => {
  const identity = requireCatalog(c);
  const config = c.get("config");
  const page = parsePageRequest(c.req.query("n"), c.req.query("last"), config.maxPageSize);
  const limit = page.limit ?? config.maxPageSize;
  const { names, next } = await listPullableRepositories(c.get("storage"), identity, {
    limit,
    last: page.last,
    secret: config.stateSecret,
  });
  if (next !== null) c.header("Link", nextPageLink("/v2/_catalog", page.limit, next));
  return c.json({ repositories: names });
});
