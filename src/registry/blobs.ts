// Blob reads and deletes. The core, not the route, decides where a blob comes from (the
// repository's own link, else, for a mirrored repository, the pull-through cache) and what
// every blob answer says (its headers, Range, Cache-Control), so a proxied copy, a stored one
// and the web UI's download look alike.
import type { Identity } from "./identity";
import { isAnonymouslyPullable } from "../config/auth";
import type { Config } from "../config/config";
import { RegistryError } from "../errors";
import { formatContentRange, parseRangeHeader } from "../oci/range";
import { formatDigest, type Digest } from "../oci/digest";
import { pullThroughBlob, type UpstreamBlob } from "../proxy/blobs";
import { readBlobData } from "../storage/blob-data";
import { getBlobLink, unlinkBlob, type BlobRecord } from "../storage/blobs";
import { refuseDelete } from "./write-policy";
import type { Deps } from "../storage/deps";
import { readBounded } from "../util/read-bounded";
import type { ViewReadBudget } from "./manifests";

/** Where a blob GET's bytes come from: this bucket (through the repository's link), or an
 *  upstream answer the pull-through cache is streaming (and caching) as it goes. */
export type BlobSource = { kind: "stored"; link: BlobRecord } | { kind: "upstream"; blob: UpstreamBlob };

/** The blob as the repository serves it; BLOB_UNKNOWN when neither it nor an upstream has it. */
async function findBlob(deps: Deps, repo: string, digest: Digest, request: Request): Promise<BlobSource> {
  const link = await getBlobLink(deps.store, repo, digest);
  if (link) return { kind: "stored", link };
  const proxied = await pullThroughBlob(deps, repo, digest, request);
  if (proxied) return proxied;
  throw new RegistryError("BLOB_UNKNOWN", `blob unknown: ${formatDigest(digest)}`);
}

/** The stored bytes behind a link, whole or a range. */
async function readBlob(
  deps: Deps,
  link: BlobRecord,
  digest: Digest,
  range?: { offset: number; length: number },
): Promise<ReadableStream> {
  const body = await readBlobData(deps.store, link, range);
  if (!body) throw new RegistryError("BLOB_UNKNOWN", `blob data missing: ${formatDigest(digest)}`);
  return body;
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

/** GET or HEAD of /v2/<name>/blobs/<digest>, whole or one Range (end-2). The caller has
 *  checked the pull right. */
export async function serveBlob(deps: Deps, repo: string, digest: Digest, request: Request): Promise<BlobAnswer> {
  const source = await findBlob(deps, repo, digest, request);
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
  const isHead = request.method === "HEAD";
  if (range.kind === "range") {
    const { start, end } = range.range;
    const length = end - start + 1;
    const headers = blobHeaders(deps.config, repo, digest, length);
    headers.set("Accept-Ranges", "bytes");
    headers.set("Content-Range", formatContentRange(range.range, link.size));
    const body = isHead ? null : await readBlob(deps, link, digest, { offset: start, length });
    return { status: 206, headers, body };
  }
  const headers = blobHeaders(deps.config, repo, digest, link.size);
  headers.set("Accept-Ranges", "bytes");
  return { status: 200, headers, body: isHead ? null : await readBlob(deps, link, digest) };
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
