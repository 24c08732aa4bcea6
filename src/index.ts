// Worker entry: routes HTTP to the hono app and cron triggers to housekeeping.
import { app } from "./app";
import { parseConfig, type Env } from "./config/config";
import { runScheduled } from "./registry/scheduled";
import { openStorage } from "./storage/storage";

export default {
  fetch: app.fetch,
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(
      Promise.resolve().then(() =>
        runScheduled({ store: openStorage(env), config: parseConfig(env), waitUntil: (work) => ctx.waitUntil(work) }),
      ),
    );
  },
} satisfies ExportedHandler<Env>;
