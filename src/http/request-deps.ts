// What a front end (the API's routes, the web UI) hands the core for one request: the
// storage and configuration the app's middleware set, and waitUntil; and the Location of a
// path under PUBLIC_URL. One builder, so both front ends give the core the same thing.
import type { Context } from "hono";
import type { Deps } from "../storage/deps";
import type { AppEnv } from "./app-env";

/** Any context the app's middleware configured (the web UI's carries its browser session too). */
export function deps<E extends AppEnv>(c: Context<E>): Deps {
  return {
    store: c.get("storage"),
    config: c.get("config"),
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  };
}

/** A Location header value for `path`: absolute under PUBLIC_URL when set, else relative
 *  (which clients resolve against the URL they used, so Host is never reflected). */
export function location(c: Context<AppEnv>, path: string): string {
  return `${c.get("config").publicUrl ?? ""}${path}`;
}
