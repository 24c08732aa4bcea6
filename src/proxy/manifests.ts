// Pull-through manifests. By digest: immutable, fetched once and kept. By tag: cached for
// PROXY_TAG_TTL_SECONDS, then revalidated with a HEAD whose digest is compared; when the
// upstream cannot answer, the stale copy is served with a Warning header (RFC 7234 §5.5).
// Nothing is cached before its digest has been checked.
import { RegistryError } from "../errors";
import { digestBytes, formatDigest, tryParseDigest, type Digest } from "../oci/digest";
import {
  isManifestMediaType,
  MEDIA_TYPES,
  normalizeContentType,
  parseManifest,
  type Descriptor,
} from "../oci/manifest";
import type { Reference } from "../oci/reference";
import { keepManifest } from "../storage/manifest-guard";
import {
  addToCatalog,
  getManifest,
  getTagRecord,
  putManifest,
  putReferrer,
  putTag,
  type StoredManifest,
} from "../storage/manifests";
import { routesFor, type UpstreamRoute } from "../config/upstreams";
import { UpstreamUnavailable } from "./upstream-client";
import { asRegistryError, firstUpstream, readLimited, UpstreamCorrupt } from "./upstreams";
import type { Deps } from "../storage/deps";

export interface ProxiedManifest extends StoredManifest {
  /** Set when a stale copy is served because the upstream could not revalidate it. */
  warning?: string;
  /** Set when this request fetched and cached it: the upstream by the name clients see (its
   *  prefix, or "*"), never its address. The core emits the fill's event from it. */
  filledFrom?: string;
}

const ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.dockerManifest,
].join(", ");
const STALE_WARNING = '110 - "Response is Stale: the upstream registry could not revalidate it"';

interface FetchedManifest {
  digest: Digest;
  bytes: Uint8Array;
  contentType: string;
  /** The upstream that answered, as ProxiedManifest.filledFrom names it. */
  upstream: string;
}

/** Checks an upstream manifest: its bytes must hash to the digest asked for and to the one
 *  the upstream claims, and it must parse. Anything else is corrupt and never cached. */
async function verifyManifest(
  response: Response,
  expected: Digest | null,
  maxBytes: number,
): Promise<Omit<FetchedManifest, "upstream">> {
  const bytes = await readLimited(response.body, maxBytes);
  const claimed = tryParseDigest(response.headers.get("Docker-Content-Digest") ?? "");
  const algorithm = expected?.algorithm ?? claimed?.algorithm ?? "sha256";
  const digest = await digestBytes(algorithm, bytes);
  for (const want of [expected, claimed]) {
    if (want && want.algorithm === algorithm && want.hex !== digest.hex) {
      throw new UpstreamCorrupt(`manifest hashes to ${formatDigest(digest)}, expected ${formatDigest(want)}`);
    }
  }
  const type = normalizeContentType(response.headers.get("Content-Type"));
  try {
    const parsed = parseManifest(bytes, type && isManifestMediaType(type) ? type : null);
    return { digest, bytes, contentType: parsed.mediaType };
  } catch (error) {
    throw new UpstreamCorrupt(`manifest does not parse: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function fetchUpstreamManifest(
  deps: Deps,
  routes: UpstreamRoute[],
  reference: string,
  expected: Digest | null,
): Promise<FetchedManifest> {
  const init = { headers: { Accept: ACCEPT } };
  const accept = async (response: Response, route: UpstreamRoute) => ({
    ...(await verifyManifest(response, expected, deps.config.maxManifestBytes)),
    upstream: route.upstream.prefix ?? "*",
  });
  return firstUpstream(deps, routes, `manifests/${reference}`, init, accept, "MANIFEST_UNKNOWN");
}

async function cacheManifest(deps: Deps, repo: string, fetched: FetchedManifest): Promise<void> {
  await putManifest(deps.store, repo, fetched.digest, fetched.bytes, fetched.contentType);
  const parsed = parseManifest(fetched.bytes, fetched.contentType);
  if (parsed.subject) {
    const descriptor: Descriptor = {
      mediaType: parsed.mediaType,
      digest: formatDigest(fetched.digest),
      size: fetched.bytes.length,
    };
    if (parsed.artifactType !== undefined) descriptor.artifactType = parsed.artifactType;
    if (parsed.annotations !== undefined) descriptor.annotations = parsed.annotations;
    await putReferrer(deps.store, repo, parsed.subject, descriptor);
  }
  await addToCatalog(deps.store, repo);
}

/** Points the tag at a manifest just cached, under the collector's protocol as a push does
 *  (docs/gc.md): the tag is never written over a condemned one, and the manifest is read
 *  again after it, in case the collector freed it as untagged before the tag landed. */
async function tagCached(deps: Deps, repo: string, tag: string, fetched: FetchedManifest): Promise<void> {
  await putTag(deps.store, repo, tag, fetched.digest, Date.now());
  const rewrite = async () => {
    await cacheManifest(deps, repo, fetched);
    return [];
  };
  const missing = await keepManifest(deps.store, repo, fetched.digest, rewrite);
  if (missing.length > 0)
    throw new RegistryError("UNAVAILABLE", "the manifest was garbage-collected while it was cached; pull it again");
}

function served(fetched: FetchedManifest, withBody: boolean): ProxiedManifest {
  return {
    digest: fetched.digest,
    contentType: fetched.contentType,
    size: fetched.bytes.length,
    body: withBody ? new Response(fetched.bytes).body : null,
    uploadedAt: Date.now(),
    filledFrom: fetched.upstream,
  };
}

/** The digest the upstream's tag points at now, from a HEAD; null when it does not say. */
async function headUpstreamTag(deps: Deps, routes: UpstreamRoute[], tag: string): Promise<Digest | null> {
  const init = { method: "HEAD", headers: { Accept: ACCEPT } };
  return firstUpstream(
    deps,
    routes,
    `manifests/${tag}`,
    init,
    async (r) => tryParseDigest(r.headers.get("Docker-Content-Digest") ?? ""),
    "MANIFEST_UNKNOWN",
  );
}

async function fetchTag(
  deps: Deps,
  repo: string,
  routes: UpstreamRoute[],
  tag: string,
  withBody: boolean,
): Promise<ProxiedManifest> {
  const fetched = await fetchUpstreamManifest(deps, routes, tag, null);
  await cacheManifest(deps, repo, fetched);
  await tagCached(deps, repo, tag, fetched);
  return served(fetched, withBody);
}

/** A cached tag past its TTL: keep it if the upstream still points there, follow it if it
 *  moved, and serve it stale (with a Warning) if the upstream cannot say. */
async function revalidateTag(
  deps: Deps,
  repo: string,
  routes: UpstreamRoute[],
  tag: string,
  cached: Digest,
  withBody: boolean,
): Promise<ProxiedManifest | null> {
  try {
    const current = await headUpstreamTag(deps, routes, tag);
    if (current && current.algorithm === cached.algorithm && current.hex === cached.hex) {
      await putTag(deps.store, repo, tag, cached, Date.now());
      return getManifest(deps.store, repo, cached, withBody);
    }
    return await fetchTag(deps, repo, routes, tag, withBody);
  } catch (error) {
    const unreachable =
      error instanceof UpstreamUnavailable || (error instanceof RegistryError && error.code === "MANIFEST_UNKNOWN");
    if (!unreachable) throw error;
    console.error(`pull-through: serving stale ${repo}:${tag}:`, error.message);
    const stale = await getManifest(deps.store, repo, cached, withBody);
    return stale ? { ...stale, warning: STALE_WARNING } : null;
  }
}

async function manifestByTag(
  deps: Deps,
  repo: string,
  routes: UpstreamRoute[],
  tag: string,
  withBody: boolean,
): Promise<ProxiedManifest> {
  const cached = await getTagRecord(deps.store, repo, tag);
  if (cached) {
    // A tag pushed here (no confirmation time) belongs to this registry, not the upstream.
    const fresh =
      cached.confirmedAt === null || Date.now() - cached.confirmedAt < deps.config.proxy.tagTtlSeconds * 1000;
    const manifest = fresh
      ? await getManifest(deps.store, repo, cached.digest, withBody)
      : await revalidateTag(deps, repo, routes, tag, cached.digest, withBody);
    if (manifest) return manifest;
  }
  return fetchTag(deps, repo, routes, tag, withBody);
}

/**
 * Serves a manifest of a mirrored repository from the cache or its upstreams; null when the
 * repository is not mirrored (the caller then reads local storage as usual).
 */
export async function pullThroughManifest(
  deps: Deps,
  repo: string,
  reference: Reference,
  withBody: boolean,
): Promise<ProxiedManifest | null> {
  const routes = routesFor(deps.config.proxy, repo);
  if (routes.length === 0) return null;
  try {
    if (reference.kind === "tag") return await manifestByTag(deps, repo, routes, reference.tag, withBody);
    const local = await getManifest(deps.store, repo, reference.digest, withBody);
    if (local) return local;
    const fetched = await fetchUpstreamManifest(deps, routes, formatDigest(reference.digest), reference.digest);
    await cacheManifest(deps, repo, fetched);
    return served(fetched, withBody);
  } catch (error) {
    throw asRegistryError(error);
  }
}
