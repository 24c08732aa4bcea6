// /v2/_gc: the on-demand garbage collection trigger and its reports (docs/gc.md).
// "_gc" cannot be a repository name (components never start with "_"), so these paths never
// collide with /v2/<name>/... routes. Collection spans every repository, so the caller needs
// the explicit admin right (Identity.admin: the shared USERNAME login, or a team user marked
// admin), never one derived from repository patterns. What a report names is cut down to
// the repositories the caller may pull.
import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireAdmin } from "../auth/middleware";
import { RegistryError } from "../errors";
import { collectionReports, collectOnce } from "../registry/collection";
import { deps } from "../http/request-deps";

export const gcRoutes = new Hono<AppEnv>();

function flag(value: string | undefined): boolean {
  return value === "1" || value === "true";
}

/** POST /v2/_gc[?dry_run=1]: runs one bounded step and answers with its report. Call again
 *  while cycleFinished is false to carry the cycle on (the cron does the same). */
gcRoutes.post("/v2/_gc", async (c) => {
  const identity = requireAdmin(c);
  return c.json(await collectOnce(deps(c), identity, flag(c.req.query("dry_run"))), 200);
});

/** GET /v2/_gc/reports[?n=20]: the newest step reports, newest first. */
gcRoutes.get("/v2/_gc/reports", async (c) => {
  const identity = requireAdmin(c);
  const n = Number(c.req.query("n") ?? "20");
  if (!Number.isSafeInteger(n) || n < 1 || n > 200)
    throw new RegistryError("PAGINATION_NUMBER_INVALID", "n must be between 1 and 200");
  return c.json({ reports: await collectionReports(deps(c), identity, n) });
});
