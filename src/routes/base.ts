// GET /v2/: the API version check (end-1), and GET /v2/_catalog with n/last paging, listing
// only the repositories the caller may pull.
import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireCatalog, requireSignedIn } from "../auth/middleware";
import { deps } from "../http/request-deps";
import { listCatalog } from "../registry/catalog";

export const baseRoutes = new Hono<AppEnv>();

baseRoutes.get("/v2/", (c) => {
  requireSignedIn(c);
  return c.json({});
});

baseRoutes.get("/v2/_catalog", async (c) => {
  const identity = requireCatalog(c);
  const { repositories, link } = await listCatalog(deps(c), identity, new URL(c.req.url).searchParams);
  if (link !== null) c.header("Link", link);
  return c.json({ repositories });
});
