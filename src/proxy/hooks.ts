// The few calls routes make into the pull-through cache: its dependencies from the request
// context, and the rule that mirrored repositories are read-only for clients.
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { RegistryError } from "../errors";
import { isReadOnlyMirror } from "./config";
import type { ProxyDeps } from "./upstreams";

export function proxyDeps(c: Context<AppEnv>): ProxyDeps {
  return {
    store: c.get("storage"),
    config: c.get("config"),
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  };
}

/** Pushes and deletes would diverge the cache from its upstream: refused unless the
 *  upstream's entry sets "allow_push". */
export function denyWriteToMirror(c: Context<AppEnv>, repo: string): void {
  if (isReadOnlyMirror(c.get("config").proxy, repo)) {
    throw new RegistryError("DENIED", `${repo} is a read-only mirror of an upstream registry`);
  }
}
