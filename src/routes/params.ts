// What every repository route starts from: the repository name, parsed once by the
// `repository` middleware (the spec's grammar; NAME_INVALID otherwise), and the core's
// dependencies for this request.
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { parseName } from "../oci/reference";
import type { RegistryDeps } from "../registry/deps";

/** Registered before each repository route; the routes read c.get("repo"). */
export const repository: MiddlewareHandler<AppEnv> = async function repository(c, next) {
  c.set("repo", parseName(c.req.param("name") ?? ""));
  await next();
};

export function deps(c: Context<AppEnv>): RegistryDeps {
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
