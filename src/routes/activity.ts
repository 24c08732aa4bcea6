// GET /v2/_activity: the activity log (docs/events.md), for admins: what changed, who changed
// it and in which request, newest first, filtered by repository, actor and kind, paged with
// Link as the catalog is. "_activity" cannot be a repository name (components never start
// with "_"), so the path never collides with /v2/<name>/... routes.
import { Hono } from "hono";
import { requireAdmin } from "../auth/middleware";
import type { AppEnv } from "../http/app-env";
import { deps } from "../http/request-deps";
import { activityPage } from "../registry/activity";

export const activityRoutes = new Hono<AppEnv>();

/** GET /v2/_activity[?repository=&actor=&kind=&n=&last=]: `{ events: [...] }`. */
activityRoutes.get("/v2/_activity", async (c) => {
  const identity = requireAdmin(c);
  const { events, link } = await activityPage(deps(c), identity, new URL(c.req.url).searchParams);
  if (link !== null) c.header("Link", link);
  return c.json({ events });
});
