// Blob reads and deletes. The core, not the route, decides where a blob comes from (the
// repository's own link, else, for a mirrored repository, the pull-through cache) and what
// every blob answer says (its headers, Range, Cache-Control), so a proxied copy, a stored one
// and the web UI's download look alike.
import type { Identity } from "./identity";
import { isAnonymouslyPullable } from "../config/auth";
import type { Config } from "../config/config";
import { RegistryError } from "../errors";
import { formatContentRange, parseRangeHeader, type ByteRange } from "../oci/range";
import { formatDigest, type Digest } from "../oci/digest";
import { pullThroughBlob, type UpstreamBlob } from "../proxy/blobs";
import { readBlobData } from "../storage/blob-data";
import { presignedBlobUrl } from "../storage/blob-urls";
import { copyToPublicBucket, publicBlobUrl } from "../storage/public-blobs";
import { getBlobLink, getServedBlobLink, unlinkBlob, type BlobRecord } from "../storage/blobs";
import { fillBlobCache, matchCachedBlob, type EdgePlace } from "../storage/edge-cache";
import { refuseDelete } from "./write-policy";
import type { Deps } from "../storage/deps";
import { readBounded } from "../util/read-bounded";
import type { ViewReadBudget } from "./manifests";

/** Where a blob GET's bytes come from: this bucket (through the repository's link), or an
 *  upstream answer the pull-through cache is streaming (and caching) as it goes. */
export type BlobSource = { kind: "stored"; link: BlobRecord } | { kind: "upstream"; blob: UpstreamBlob };

/** The blob as the repository serves it; BLOB_UNKNOWN when neither it nor an upstream has it.
 *  `fresh` reads the repository's link from the bucket, not the isolate's memory of it. */
async function findBlob(
  deps: Deps,
  repo: string,
  digest: Digest,
  request: Request,
  fresh: boolean,
): Promise<BlobSource> {
  const link = await getServedBlobLink(deps.store, repo, digest, fresh);
  if (link) return { kind: "stored", link };
  const proxied = await pullThroughBlob(deps, repo, digest, request);
  if (proxied) return proxied;
  throw new RegistryError("BLOB_UNKNOWN", `blob unknown: ${formatDigest(digest)}`);
}

/** DELETE removes only this repository's link; the bytes stay for every other repository
 *  that links them, and garbage collection frees them once nothing does. */
export async function deleteBlob(
  deps: Deps,
  identity: Pick<Identity, "allows">,
  repo: string,
  digest: Digest,
): Promise<void> {
  refuseDelete(deps.config, identity, repo);
  if (!(await getBlobLink(deps.store, repo, digest)))
    throw new RegistryError("BLOB_UNKNOWN", `blob unknown: ${formatDigest(digest)}`);
  await unlinkBlob(deps.store, repo, digest);
}

/** A blob GET or HEAD, answered: the front end sends it as it is. */
export interface BlobAnswer {
  status: number;
  headers: Headers;
  /** Null for HEAD. */
  body: ReadableStream | null;
}

/**
 * Blobs never change under a digest, so caches may keep them for good. A shared cache only
 * when anyone may pull the repository (ANONYMOUS_PULL): "public" lets a cache between client
 * and registry keep an answer to a request that carried Authorization and hand it to anyone
 * (RFC 9111 §5.2.2.7).
 */
export function blobCacheControl(config: Config, repo: string): string {
  const shared = isAnonymouslyPullable(config.auth, repo);
  return `${shared ? "public" : "private"}, max-age=31536000, immutable`;
}

/** The headers of every blob answer. A null length (an upstream that did not say) sends none. */
function blobHeaders(config: Config, repo: string, digest: Digest, length: number | null): Headers {
  const text = formatDigest(digest);
  const headers = new Headers({
    // An explicit type keeps the edge (and wrangler dev) from compressing layers again.
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": text,
    ETag: `"${text}"`,
    "Cache-Control": blobCacheControl(config, repo),
  });
  if (length !== null) headers.set("Content-Length", String(length));
  return headers;
}

export interface ServeOptions {
  /** Whether the answer may send the client elsewhere for the bytes (BLOB_REDIRECT). The web
   *  UI's download says no: it names the file and its type, which a redirect would lose. */
  redirect: boolean;
}

/** How the GET of a stored blob is answered: a redirect, or the Worker's stream, which
 *  fills the edge cache behind it unless the public bucket is being given a copy that will
 *  serve every later pull (a fill then would be a read of the blob for nothing). */
type Delivery = { location: string } | { fillEdgeCache: boolean };

/**
 * Where BLOB_REDIRECT sends a GET of a stored blob (docs/delivery.md). The caller has checked
 * the pull right and the repository's link. Presigned: R2 itself, so the Worker spends
 * nothing on the body and the client sends its Range there. Public: the public bucket's
 * copy, for a repository anyone may pull, never another; a blob with no copy yet is streamed
 * and copied behind the answer.
 */
async function deliveryOf(deps: Deps, repo: string, digest: Digest, link: BlobRecord): Promise<Delivery> {
  const delivery = deps.config.delivery;
  if (delivery.mode === "presigned") return { location: await presignedBlobUrl(delivery, link) };
  if (delivery.mode !== "public" || !isAnonymouslyPullable(deps.config.auth, repo)) return { fillEdgeCache: true };
  const url = await publicBlobUrl(deps.store, delivery.base, digest);
  if (url) return { location: url };
  deps.waitUntil(copyToPublicBucket(deps.store, digest, link));
  return { fillEdgeCache: false };
}

/** A redirect to where the bytes are. Never kept by a cache: a presigned URL expires. */
function redirectHeaders(digest: Digest, location: string): Headers {
  return new Headers({
    Location: location,
    "Docker-Content-Digest": formatDigest(digest),
    "Cache-Control": "private, no-store",
  });
}

/** GET or HEAD of /v2/<name>/blobs/<digest>, whole or one Range (end-2). The caller has
 *  checked the pull right. */
export async function serveBlob(
  deps: Deps,
  repo: string,
  digest: Digest,
  request: Request,
  options: ServeOptions = { redirect: true },
): Promise<BlobAnswer> {
  // A remembered link can name bytes that are gone (the blob was freed and pushed again
  // since, under new data): then the link is read again before the answer is BLOB_UNKNOWN.
  return (
    (await serveFrom(deps, repo, digest, request, options, false)) ??
    (await serveFrom(deps, repo, digest, request, options, true)) ??
    blobDataMissing(digest)
  );
}

function blobDataMissing(digest: Digest): never {
  throw new RegistryError("BLOB_UNKNOWN", `blob data missing: ${formatDigest(digest)}`);
}

/** The answer, or null when the link names data that is not there. */
async function serveFrom(
  deps: Deps,
  repo: string,
  digest: Digest,
  request: Request,
  options: ServeOptions,
  fresh: boolean,
): Promise<BlobAnswer | null> {
  const source = await findBlob(deps, repo, digest, request, fresh);
  if (source.kind === "upstream") {
    const { blob } = source;
    const headers = blobHeaders(deps.config, repo, digest, blob.length);
    if (blob.contentRange) headers.set("Content-Range", blob.contentRange);
    if (blob.acceptRanges) headers.set("Accept-Ranges", blob.acceptRanges);
    return { status: blob.status, headers, body: blob.body };
  }
  const { link } = source;
  const rangeHeader = request.headers.get("Range");
  const range = parseRangeHeader(rangeHeader, link.size);
  if (range.kind === "malformed" || range.kind === "unsatisfiable") {
    throw new RegistryError("RANGE_NOT_SATISFIABLE", `cannot serve range ${rangeHeader}`, {
      "Content-Range": `bytes */${link.size}`,
    });
  }
  const wanted = range.kind === "range" ? range.range : null;
  const length = wanted ? wanted.end - wanted.start + 1 : link.size;
  const headers = blobHeaders(deps.config, repo, digest, length);
  headers.set("Accept-Ranges", "bytes");
  if (wanted) headers.set("Content-Range", formatContentRange(wanted, link.size));
  const status = wanted ? 206 : 200;
  if (request.method === "HEAD") return { status, headers, body: null };
  const delivery = options.redirect ? await deliveryOf(deps, repo, digest, link) : { fillEdgeCache: true };
  if ("location" in delivery) return { status: 307, headers: redirectHeaders(digest, delivery.location), body: null };
  const place = { origin: new URL(request.url).origin, maxBytes: deps.config.edgeCacheMaxBytes };
  const body = await blobBytes(deps, link, digest, wanted, place, delivery.fillEdgeCache);
  return body ? { status, headers, body } : null;
}

/** The bytes of a stored blob, whole or a range: from this data center's edge cache when it
 *  holds them, else from R2, filling the cache behind the answer when `fill` says so
 *  (storage/edge-cache.ts). Null when R2 has no data under the link. The caller has checked
 *  the rights and the link: the cache is never asked before both. */
async function blobBytes(
  deps: Deps,
  link: BlobRecord,
  digest: Digest,
  range: ByteRange | null,
  place: EdgePlace,
  fill: boolean,
): Promise<ReadableStream | null> {
  const cached = await matchCachedBlob(place, digest, link.size, range);
  if (cached) return cached;
  const window = range ? { offset: range.start, length: range.end - range.start + 1 } : undefined;
  const body = await readBlobData(deps.store, link, window);
  if (body && fill) deps.waitUntil(fillBlobCache(deps.store, place, digest, link));
  return body;
}

/** An image's config blob for a view, within the view's budget (registry/manifests.ts,
 *  ViewReadBudget): at most the manifest limit, since a config is never checked at push as
 *  manifests are. Null when this repository links none, or it is too large or past the
 *  budget. `declaredSize` is the size its manifest names, checked before any read. */
export async function readConfigForView(
  deps: Deps,
  repo: string,
  digest: Digest,
  declaredSize: number,
  budget: ViewReadBudget,
): Promise<Uint8Array | null> {
  const max = budget.maxDocumentBytes;
  if (declaredSize > max) return null;
  const link = await getBlobLink(deps.store, repo, digest);
  if (!link || link.size > max || !budget.spend(link.size)) return null;
  const body = await readBlobData(deps.store, link);
  return body ? readBounded(body, max) : null;
}
