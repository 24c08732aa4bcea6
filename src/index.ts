// Worker entry: routes HTTP to the hono app and cron triggers to housekeeping.
import { app } from "./app";
import type { Env } from "./config";
import { runScheduled } from "./registry/scheduled";

export default {
  fetch: app.fetch,
  scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(env, controller.cron));
  },
} satisfies ExportedHandler<Env>;
