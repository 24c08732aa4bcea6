// Worker entry: routes HTTP to the hono app and cron triggers to housekeeping.
import { app } from "./app";
import { parseConfig, type Env } from "./config";
import { runScheduled } from "./registry/scheduled";
import { openStorage } from "./storage/storage";

export default {
  fetch: app.fetch,
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(Promise.resolve().then(() => runScheduled(openStorage(env), parseConfig(env))));
  },
} satisfies ExportedHandler<Env>;
