// /v2/<name>/blobs/<digest>: GET and HEAD (end-2, with Range), DELETE (end-10).
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireAccess } from "../auth/middleware";
import { RegistryError } from "../errors";
import { formatDigest, parseDigest } from "../oci/digest";
import { formatContentRange, parseRangeHeader } from "../oci/range";
import { deleteBlob, findBlob, readBlob } from "../registry/blobs";
import { deps, repository } from "./params";

export const blobRoutes = new Hono<AppEnv>();

/** Blobs never change under a digest, so caches may keep them for good. */
const IMMUTABLE = "public, max-age=31536000, immutable";
const PATH = "/v2/:name{.+}/blobs/:digest";

blobRoutes.use(PATH, repository);

blobRoutes.get(PATH, async (c) => {
  const repo = c.get("repo");
  const digest = parseDigest(c.req.param("digest"));
  requireAccess(c, repo, "pull");
  const source = await findBlob(deps(c), repo, digest, c.req.raw);
  if (source.kind === "upstream") return source.response;
  const { link } = source;
  const digestText = formatDigest(digest);
  const headers: Record<string, string> = {
    // An explicit type keeps the edge (and wrangler dev) from compressing layers again.
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": digestText,
    ETag: `"${digestText}"`,
    "Cache-Control": IMMUTABLE,
    "Accept-Ranges": "bytes",
  };
  const range = parseRangeHeader(c.req.header("Range"), link.size);
  if (range.kind === "malformed" || range.kind === "unsatisfiable") {
    throw new RegistryError("RANGE_NOT_SATISFIABLE", `cannot serve range ${c.req.header("Range")}`, {
      "Content-Range": `bytes */${link.size}`,
    });
  }
  const isHead = c.req.method === "HEAD";
  if (range.kind === "range") {
    const { start, end } = range.range;
    headers["Content-Range"] = formatContentRange(range.range, link.size);
    headers["Content-Length"] = String(end - start + 1);
    if (isHead) return new Response(null, { status: 206, headers });
    return new Response(await readBlob(deps(c), link, digest, { offset: start, length: end - start + 1 }), {
      status: 206,
      headers,
    });
  }
  headers["Content-Length"] = String(link.size);
  if (isHead) return new Response(null, { status: 200, headers });
  return new Response(await readBlob(deps(c), link, digest), { status: 200, headers });
});

blobRoutes.delete(PATH, async (c) => {
  const repo = c.get("repo");
  requireAccess(c, repo, "delete");
  await deleteBlob(deps(c), repo, parseDigest(c.req.param("digest")));
  return c.body(null, 202);
});
