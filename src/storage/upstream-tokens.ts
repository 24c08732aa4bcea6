// Upstream registries' bearer tokens, cached in KV until they expire (expirationTtl), so a
// pull-through on another isolate reuses them instead of asking the token server again.
import { keys } from "./keys";
import type { Storage } from "./storage";
import { kvOf } from "./bindings";

export interface CachedUpstreamToken {
  token: string;
  /** Epoch milliseconds after which the token must not be used. */
  expiresAt: number;
}

/** KV refuses an expirationTtl under 60 seconds. */
export const KV_MIN_TTL_SECONDS = 60;

/** The cached token, or null when none is cached or KV cannot be read (a cache miss costs
 *  one token request upstream, never the pull). */
export async function getUpstreamToken(store: Storage, cacheKey: string): Promise<CachedUpstreamToken | null> {
  return kvOf(store)
    .getJson<CachedUpstreamToken>(keys.proxyTokenKv(cacheKey))
    .catch(() => null);
}

/** Caches the token for `ttlSeconds` (at least KV_MIN_TTL_SECONDS, else nothing is stored);
 *  a failed write only loses the cache entry. */
export async function putUpstreamToken(
  store: Storage,
  cacheKey: string,
  token: CachedUpstreamToken,
  ttlSeconds: number,
): Promise<void> {
  if (ttlSeconds < KV_MIN_TTL_SECONDS) return;
  await kvOf(store)
    .put(keys.proxyTokenKv(cacheKey), JSON.stringify(token), { expirationTtl: ttlSeconds })
    .catch(() => {});
}
