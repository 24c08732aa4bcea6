// GET /v2/: the API version check (end-1), and GET /v2/_catalog with n/last paging.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireCatalog, requireSignedIn } from "../auth/middleware";
import { nextPageLink, parsePageRequest } from "../oci/pagination";
import { listCatalog } from "../storage/manifests";

export const baseRoutes = new Hono<AppEnv>();

baseRoutes.get("/v2/", (c) => {
  requireSignedIn(c);
  return c.json({});
});

baseRoutes.get("/v2/_catalog", async (c) => {
  requireCatalog(c);
  const config = c.get("config");
  const page = parsePageRequest(c.req.query("n"), c.req.query("last"), config.maxPageSize);
  const limit = page.limit ?? config.maxPageSize;
  const { names, more } = await listCatalog(c.env.REGISTRY, limit, page.last);
  if (more && names.length > 0) c.header("Link", nextPageLink("/v2/_catalog", page.limit, names[names.length - 1]!));
  return c.json({ repositories: names });
});
