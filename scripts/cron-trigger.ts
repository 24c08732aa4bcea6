// The local runtime's cron trigger: `GET /scheduled?cron=EXPR` on a loopback-only port runs
// the registry's scheduled handler, as Cloudflare's cron does in production. It replaces
// Miniflare's /cdn-cgi/handler/scheduled, which answers on whatever port workerd serves and
// asks for no credential: anyone who reached the public port could run the collector, which
// through the API needs the admin right. Loopback means only this machine's users can fire it,
// the same people who could start the runtime themselves.
import { createServer, type Server } from "node:http";
import type { Miniflare } from "miniflare";

/** Loopback only, whatever host the public port listens on. */
export const CRON_TRIGGER_HOST = "127.0.0.1";

/** The trigger's server. `worker` names the Miniflare worker whose scheduled handler runs;
 *  `defaultCron` is the expression used when the request names none (wrangler.toml's first). */
export function cronTrigger(mf: Miniflare, worker: string, defaultCron: string): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${CRON_TRIGGER_HOST}`);
    if (req.method !== "GET" || url.pathname !== "/scheduled") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("GET /scheduled?cron=EXPR fires the cron\n");
      return;
    }
    const cron = url.searchParams.get("cron") ?? defaultCron;
    void mf
      .getWorker(worker)
      .then((fetcher) => fetcher.scheduled({ cron, scheduledTime: new Date() }))
      .then(
        (result) => {
          res.writeHead(result.outcome === "ok" ? 200 : 500, { "Content-Type": "application/json" });
          res.end(`${JSON.stringify({ cron, ...result })}\n`);
        },
        (error: unknown) => {
          res.writeHead(500, { "Content-Type": "text/plain" }).end(`scheduled handler failed: ${String(error)}\n`);
        },
      );
  });
}
