// /v2/_gc: the on-demand garbage collection trigger and its reports (docs/gc.md).
// "_gc" cannot be a repository name (components never start with "_"), so these paths never
// collide with /v2/<name>/... routes. Collection spans every repository, so the caller needs
// delete rights that are not limited to named repositories: allows("_gc", "delete") holds
// for global identities and for patterns such as "*", never for "team/*".
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireAccess } from "../auth/middleware";
import { RegistryError } from "../errors";
import { runCollectorStep } from "../gc/collector";
import { listReports } from "../gc/reports";

export const gcRoutes = new Hono<AppEnv>();

const GLOBAL_SCOPE = "_gc";

function flag(value: string | undefined): boolean {
  return value === "1" || value === "true";
}

/** POST /v2/_gc[?dry_run=1]: runs one bounded step and answers with its report. Call again
 *  while cycleFinished is false to carry the cycle on (the cron does the same). */
gcRoutes.post("/v2/_gc", async (c) => {
  requireAccess(c, GLOBAL_SCOPE, "delete");
  const report = await runCollectorStep(c.env, { trigger: "manual", dryRun: flag(c.req.query("dry_run")) });
  if (!report) throw new RegistryError("TOOMANYREQUESTS", "a garbage collection step is already running; try again shortly");
  return c.json(report, 200);
});

/** GET /v2/_gc/reports[?n=20]: the newest step reports, newest first. */
gcRoutes.get("/v2/_gc/reports", async (c) => {
  requireAccess(c, GLOBAL_SCOPE, "delete");
  const n = Number(c.req.query("n") ?? "20");
  if (!Number.isSafeInteger(n) || n < 1 || n > 200) throw new RegistryError("PAGINATION_NUMBER_INVALID", "n must be between 1 and 200");
  return c.json({ reports: await listReports(c.env.REGISTRY, n) });
});
