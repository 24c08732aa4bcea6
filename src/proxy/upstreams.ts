// Trying a repository's upstreams in order, and what a pull-through module needs from the
// request. A 404 (or a refusal) from one upstream moves on to the next; when none has the
// content, the answer is "unknown" unless one of them could not be asked at all.
import { RegistryError, type ErrorCode } from "../errors";
import type { Deps } from "../storage/deps";
import { upstreamName, type UpstreamRoute } from "../config/upstreams";
import { upstreamFetch, UpstreamUnavailable } from "./upstream-client";
import { readBounded } from "../util/read-bounded";

/** Thrown when an upstream answered with content that fails verification. */
export class UpstreamCorrupt extends UpstreamUnavailable {
  constructor(message: string) {
    super(message, "sent content that failed verification");
  }
}

/**
 * Sends the request to each route until one answers 2xx; `accept` may still refuse that
 * answer (by throwing UpstreamCorrupt), and then the next route is tried.
 */
export async function firstUpstream<T>(
  deps: Deps,
  routes: UpstreamRoute[],
  path: string,
  init: RequestInit,
  accept: (response: Response, route: UpstreamRoute) => Promise<T>,
  unknown: ErrorCode,
): Promise<T> {
  let failure: UpstreamUnavailable | null = null;
  for (const route of routes) {
    try {
      const response = await upstreamFetch(deps.store, route, path, init);
      if (response.ok) return await accept(response, route);
      await response.body?.cancel();
      // 404 and auth refusals mean "not here"; anything else is a broken upstream.
      if (![401, 403, 404].includes(response.status)) {
        failure = new UpstreamUnavailable(
          `${route.upstream.url} answered ${response.status}`,
          `answered ${response.status}`,
        );
        failure.upstream = upstreamName(route.upstream);
        console.error("pull-through:", failure.message);
      }
    } catch (error) {
      if (!(error instanceof UpstreamUnavailable)) throw error;
      console.error("pull-through:", error.message);
      error.upstream ??= upstreamName(route.upstream);
      failure = error;
    }
  }
  if (failure) throw failure;
  throw new RegistryError(unknown, `not found upstream: ${path}`);
}

/** Turns an upstream failure into the client's error, which names the upstream by its prefix
 *  and says what went wrong, never where it lives; other errors pass unchanged. */
export function asRegistryError(error: unknown): unknown {
  if (error instanceof UpstreamUnavailable)
    return new RegistryError("UNAVAILABLE", `upstream ${error.upstream ?? "registry"} ${error.reason}`);
  return error;
}

/** Reads at most `max` bytes of a body; more is a failure of the upstream. */
export async function readLimited(body: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array> {
  const bytes = await readBounded(body, max);
  if (!bytes) throw new UpstreamCorrupt(`body larger than ${max} bytes`);
  return bytes;
}
