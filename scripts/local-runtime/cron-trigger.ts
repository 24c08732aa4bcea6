// The local runtime's cron trigger: `GET /scheduled/<token>?cron=EXPR` on a loopback-only port
// runs the registry's scheduled handler, as Cloudflare's cron does in production. It replaces
// Miniflare's /cdn-cgi/handler/scheduled, which answers on whatever port workerd serves and
// asks for no credential: anyone who reached the public port could run the collector, which
// through the API needs the admin right. Loopback means only this machine's users can fire it,
// the same people who could start the runtime themselves. The token, new at every start and
// printed only to whoever started it, keeps out what else reaches loopback: a web page the
// developer opens can send a GET to any 127.0.0.1 port (no-cors, or by DNS rebinding), but
// cannot know the path.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { Miniflare } from "miniflare";

/** Loopback only, whatever host the public port listens on. */
export const CRON_TRIGGER_HOST = "127.0.0.1";

/** The trigger's server and the path that fires it. `worker` names the Miniflare worker whose
 *  scheduled handler runs; `defaultCron` is the expression used when the request names none
 *  (wrangler.toml's first). */
export function cronTrigger(mf: Miniflare, worker: string, defaultCron: string): { server: Server; path: string } {
  const path = `/scheduled/${randomBytes(16).toString("hex")}`;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${CRON_TRIGGER_HOST}`);
    if (req.method !== "GET" || url.pathname !== path) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found: npm start printed the trigger's URL\n");
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
  return { server, path };
}
