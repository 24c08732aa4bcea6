// /v2/<name>/blobs/<digest>: GET and HEAD (end-2, with Range), DELETE (end-10).
import type { Context } from "hono";
import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { anonymousIdentity } from "../auth/identity";
import { requireAccess } from "../auth/middleware";
import { RegistryError } from "../errors";
import { formatDigest, parseDigest, type Digest } from "../oci/digest";
import { formatContentRange, parseRangeHeader } from "../oci/range";
import { deleteBlob, findBlob, readBlob } from "../registry/blobs";
import type { BlobSource } from "../registry/blobs";
import type { UpstreamBlob } from "../proxy/blobs";
import { deps } from "../http/request-deps";
import { repository } from "./params";

export const blobRoutes = new Hono<AppEnv>();

const PATH = "/v2/:name{.+}/blobs/:digest";

/**
 * Blobs never change under a digest, so caches may keep them for good. A shared cache only
 * when anyone may pull the repository (ANONYMOUS_PULL): "public" lets a cache between client
 * and registry keep an answer to a request that carried Authorization and hand it to anyone
 * (RFC 9111 §5.2.2.7).
 */
function cacheControl(c: Context<AppEnv>, repo: string): string {
  const shared = anonymousIdentity(c.get("config").auth.anonymousPull).allows(repo, "pull");
  return `${shared ? "public" : "private"}, max-age=31536000, immutable`;
}

/** The headers of every blob answer, stored or streamed from an upstream, so the two look
 *  alike to clients and caches. A null length (an upstream that did not say) sends none. */
function blobHeaders(digest: Digest, cache: string, length: number | null): Headers {
  const text = formatDigest(digest);
  const headers = new Headers({
    // An explicit type keeps the edge (and wrangler dev) from compressing layers again.
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": text,
    ETag: `"${text}"`,
    "Cache-Control": cache,
  });
  if (length !== null) headers.set("Content-Length", String(length));
  return headers;
}

function upstreamResponse(digest: Digest, cache: string, blob: UpstreamBlob): Response {
  const headers = blobHeaders(digest, cache, blob.length);
  if (blob.contentRange) headers.set("Content-Range", blob.contentRange);
  if (blob.acceptRanges) headers.set("Accept-Ranges", blob.acceptRanges);
  return new Response(blob.body, { status: blob.status, headers });
}

type StoredLink = Extract<BlobSource, { kind: "stored" }>["link"];

async function storedResponse(c: Context<AppEnv>, digest: Digest, cache: string, link: StoredLink): Promise<Response> {
  const rangeHeader = c.req.header("Range");
  const range = parseRangeHeader(rangeHeader, link.size);
  if (range.kind === "malformed" || range.kind === "unsatisfiable") {
    throw new RegistryError("RANGE_NOT_SATISFIABLE", `cannot serve range ${rangeHeader}`, {
      "Content-Range": `bytes */${link.size}`,
    });
  }
  const isHead = c.req.method === "HEAD";
  if (range.kind === "range") {
    const { start, end } = range.range;
    const length = end - start + 1;
    const headers = blobHeaders(digest, cache, length);
    headers.set("Accept-Ranges", "bytes");
    headers.set("Content-Range", formatContentRange(range.range, link.size));
    const body = isHead ? null : await readBlob(deps(c), link, digest, { offset: start, length });
    return new Response(body, { status: 206, headers });
  }
  const headers = blobHeaders(digest, cache, link.size);
  headers.set("Accept-Ranges", "bytes");
  return new Response(isHead ? null : await readBlob(deps(c), link, digest), { status: 200, headers });
}

blobRoutes.use(PATH, repository);

blobRoutes.get(PATH, async (c) => {
  const repo = c.get("repo");
  const digest = parseDigest(c.req.param("digest"));
  requireAccess(c, repo, "pull");
  const source = await findBlob(deps(c), repo, digest, c.req.raw);
  const cache = cacheControl(c, repo);
  if (source.kind === "upstream") return upstreamResponse(digest, cache, source.blob);
  return storedResponse(c, digest, cache, source.link);
});

blobRoutes.delete(PATH, async (c) => {
  const repo = c.get("repo");
  const identity = requireAccess(c, repo, "delete");
  await deleteBlob(deps(c), identity, repo, parseDigest(c.req.param("digest")));
  return c.body(null, 202);
});
