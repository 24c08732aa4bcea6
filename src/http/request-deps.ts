// What a front end (the API's routes, the web UI) hands the core for one request: the
// storage and configuration the app's middleware set, waitUntil, and the request's origin
// (who and which request, for the core's events); and the Location of a path under
// PUBLIC_URL. One builder, so both front ends give the core the same thing.
import type { Context } from "hono";
import type { Deps, RequestOrigin } from "../storage/deps";
import type { AppEnv } from "./app-env";

/** Any context the app's middleware configured (the web UI's carries its browser session too). */
export function deps<E extends AppEnv>(c: Context<E>): Deps {
  return {
    store: c.get("storage"),
    config: c.get("config"),
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
    request: requestOrigin(c),
  };
}

/** The request as the core's events name it. The id is chosen once per request (a handler
 *  may build deps more than once); the actor is read each time, from the identity the
 *  authentication middleware (or the web UI's session) set. */
function requestOrigin<E extends AppEnv>(c: Context<E>): RequestOrigin {
  let id = c.get("requestId");
  if (id === undefined) {
    // Cloudflare sets cf-ray at its edge; elsewhere a client could send anything, so only a
    // short plain value is kept.
    const ray = c.req.header("cf-ray");
    id = ray !== undefined && /^[A-Za-z0-9-]{1,64}$/.test(ray) ? ray : crypto.randomUUID();
    c.set("requestId", id);
  }
  const identity = c.get("identity");
  const url = new URL(c.req.url);
  return {
    actor: identity && !identity.anonymous ? identity.subject : null,
    id,
    method: c.req.method,
    path: url.pathname,
    host: url.host || null,
    userAgent: c.req.header("User-Agent") ?? null,
  };
}

/** A Location header value for `path`: absolute under PUBLIC_URL when set, else relative
 *  (which clients resolve against the URL they used, so Host is never reflected). */
export function location(c: Context<AppEnv>, path: string): string {
  return `${c.get("config").publicUrl ?? ""}${path}`;
}
