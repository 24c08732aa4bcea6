// HTTP to an upstream registry with its auth: anonymous, Basic, or Docker Bearer tokens.
// Tokens are cached until they expire, in the isolate and in KV (expirationTtl), so a warm
// pull costs one request upstream instead of a challenge, a token fetch and a retry.
import { digestBytes } from "../oci/digest";
import type { Storage } from "../storage/storage";
import { getUpstreamToken, putUpstreamToken } from "../storage/upstream-tokens";
import { parseChallenge, parseTokenResponse, type Challenge, type TokenGrant } from "./challenge";
import type { UpstreamRoute, Upstream } from "../config/upstreams";

/** Tokens are dropped this long before they expire, so none expires in flight. */
const EXPIRY_MARGIN_MS = 10_000;
const tokenMemory = new Map<string, TokenGrant>();
/** Upstreams that answered with a Basic challenge: later requests send Basic at once. */
const basicUpstreams = new Set<string>();

/** An upstream that could not be asked, or answered with an error. `message` is for the log
 *  and may hold the upstream's address; a client sees only `reason`, with the upstream named
 *  by its prefix (upstreams.ts, asRegistryError). */
export class UpstreamUnavailable extends Error {
  /** Set by firstUpstream: the failing upstream as clients may see it named. */
  upstream: string | null = null;
  constructor(
    message: string,
    readonly reason = "could not be reached",
  ) {
    super(message);
  }
}

function basicHeader(upstream: Upstream): string | null {
  if (upstream.username === null) return null;
  const bytes = new TextEncoder().encode(`${upstream.username}:${upstream.password ?? ""}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

async function tokenCacheKey(upstream: Upstream, scope: string): Promise<string> {
  const digest = await digestBytes(
    "sha256",
    new TextEncoder().encode(`${upstream.url}\n${upstream.username ?? ""}\n${scope}`),
  );
  return digest.hex;
}

async function cachedToken(store: Storage, key: string, now: number): Promise<string | null> {
  const memory = tokenMemory.get(key);
  if (memory && memory.expiresAt - EXPIRY_MARGIN_MS > now) return memory.token;
  const stored = await getUpstreamToken(store, key);
  if (stored && stored.expiresAt - EXPIRY_MARGIN_MS > now) {
    tokenMemory.set(key, stored);
    return stored.token;
  }
  return null;
}

async function storeToken(store: Storage, key: string, grant: TokenGrant, now: number): Promise<void> {
  tokenMemory.set(key, grant);
  const ttl = Math.floor((grant.expiresAt - EXPIRY_MARGIN_MS - now) / 1000);
  await putUpstreamToken(store, key, grant, ttl);
}

/** Asks the challenge's realm for a token; anonymous unless the upstream has credentials. */
async function fetchToken(
  upstream: Upstream,
  challenge: Extract<Challenge, { scheme: "bearer" }>,
  scope: string,
): Promise<TokenGrant | null> {
  const url = new URL(challenge.realm);
  if (challenge.service) url.searchParams.set("service", challenge.service);
  url.searchParams.set("scope", scope);
  const headers: Record<string, string> = {};
  const basic = basicHeader(upstream);
  if (basic) headers.Authorization = basic;
  const response = await fetch(url, { headers });
  if (!response.ok) {
    await response.body?.cancel();
    return null;
  }
  return parseTokenResponse(await response.json().catch(() => null), Date.now());
}

async function send(url: string, init: RequestInit, auth: string | null): Promise<Response> {
  const headers = new Headers(init.headers);
  if (auth) headers.set("Authorization", auth);
  try {
    return await fetch(url, { ...init, headers });
  } catch (error) {
    throw new UpstreamUnavailable(`${url}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Sends a request for `path` (under /v2/<remote name>/) to the route's upstream, answering
 * its auth challenge once. Throws UpstreamUnavailable when the upstream cannot be reached.
 */
export async function upstreamFetch(
  store: Storage,
  route: UpstreamRoute,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const { upstream, remoteName } = route;
  const url = `${upstream.url}/v2/${remoteName}/${path}`;
  const scope = `repository:${remoteName}:pull`;
  const key = await tokenCacheKey(upstream, scope);
  const now = Date.now();
  const token = await cachedToken(store, key, now);
  const first = token ? `Bearer ${token}` : basicUpstreams.has(upstream.url) ? basicHeader(upstream) : null;
  const response = await send(url, init, first);
  if (response.status !== 401) return response;
  const challenge = parseChallenge(response.headers.get("WWW-Authenticate"));
  if (challenge.scheme === "basic") {
    basicUpstreams.add(upstream.url);
    const basic = basicHeader(upstream);
    if (!basic || basic === first) return response;
    await response.body?.cancel();
    return send(url, init, basic);
  }
  if (challenge.scheme !== "bearer") return response;
  const grant = await fetchToken(upstream, challenge, challenge.scope ?? scope).catch(() => null);
  if (!grant) return response;
  await response.body?.cancel();
  await storeToken(store, key, grant, now);
  return send(url, init, `Bearer ${grant.token}`);
}
