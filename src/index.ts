// Worker entry: routes HTTP to the hono app, cron triggers to housekeeping, and the events
// queues (wrangler.toml [[queues.consumers]]) to the events consumer.
import { app } from "./app";
import { parseConfig, type Env } from "./config/config";
import { consumeEventBatch } from "./events/consumer";
import { runScheduled } from "./registry/scheduled";
import type { Deps } from "./storage/deps";
import { openStorage } from "./storage/storage";

function depsFor(env: Env, ctx: ExecutionContext): Deps {
  return { store: openStorage(env), config: parseConfig(env), waitUntil: (work) => ctx.waitUntil(work) };
}

export default {
  fetch: app.fetch,
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(Promise.resolve().then(() => runScheduled(depsFor(env, ctx))));
  },
  // A configuration error throws here, so the whole batch is retried rather than dropped.
  async queue(batch, env, ctx) {
    await consumeEventBatch(depsFor(env, ctx), batch.queue, batch.messages);
  },
} satisfies ExportedHandler<Env>;
