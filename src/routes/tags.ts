// GET /v2/<name>/tags/list (end-8a/8b): lexical order, n/last paging, Link to the next page.
import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireAccess } from "../auth/middleware";
import { listRepositoryTags } from "../registry/tags";
import { deps } from "../http/request-deps";
import { repository } from "./params";

export const tagRoutes = new Hono<AppEnv>();
const PATH = "/v2/:name{.+}/tags/list";

tagRoutes.use(PATH, repository);

tagRoutes.get(PATH, async (c) => {
  const repo = c.get("repo");
  requireAccess(c, repo, "pull");
  const { tags, link } = await listRepositoryTags(deps(c), repo, new URL(c.req.url).searchParams);
  if (link) c.header("Link", link);
  return c.json({ name: repo, tags });
});
