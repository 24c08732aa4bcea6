// /v2/<name>/blobs/<digest>: GET and HEAD (end-2, with Range), DELETE (end-10).
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireAccess } from "../auth/middleware";
import { RegistryError } from "../errors";
import { formatDigest, parseDigest } from "../oci/digest";
import { formatContentRange, parseRangeHeader } from "../oci/range";
import { getBlobLink, readBlobData, unlinkBlob } from "../storage/blobs";
import { repoName } from "./params";
import { denyWriteToMirror, proxyDeps } from "../proxy/hooks";
import { pullThroughBlob } from "../proxy/blobs";

export const blobRoutes = new Hono<AppEnv>();

/** Blobs never change under a digest, so caches may keep them for good. */
const IMMUTABLE = "public, max-age=31536000, immutable";

blobRoutes.get("/v2/:name{.+}/blobs/:digest", async (c) => {
  const repo = repoName(c);
  const digest = parseDigest(c.req.param("digest"));
  requireAccess(c, repo, "pull");
  let link: { dataKey: string; size: number } | null = await getBlobLink(c.get("storage"), repo, digest);
  if (!link) {
    const proxied = await pullThroughBlob(proxyDeps(c), repo, digest, c.req.raw);
    if (proxied instanceof Response) return proxied;
    link = proxied;
  }
  if (!link) throw new RegistryError("BLOB_UNKNOWN", `blob unknown: ${formatDigest(digest)}`);
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
    throw new RegistryError("RANGE_NOT_SATISFIABLE", `cannot serve range ${c.req.header("Range")}`, { "Content-Range": `bytes */${link.size}` });
  }
  const isHead = c.req.method === "HEAD";
  if (range.kind === "range") {
    const { start, end } = range.range;
    headers["Content-Range"] = formatContentRange(range.range, link.size);
    headers["Content-Length"] = String(end - start + 1);
    if (isHead) return new Response(null, { status: 206, headers });
    const object = await readBlobData(c.get("storage"), link.dataKey, { offset: start, length: end - start + 1 });
    if (!object) throw new RegistryError("BLOB_UNKNOWN", `blob data missing: ${digestText}`);
    return new Response(object.body, { status: 206, headers });
  }
  headers["Content-Length"] = String(link.size);
  if (isHead) return new Response(null, { status: 200, headers });
  const object = await readBlobData(c.get("storage"), link.dataKey);
  if (!object) throw new RegistryError("BLOB_UNKNOWN", `blob data missing: ${digestText}`);
  return new Response(object.body, { status: 200, headers });
});

blobRoutes.delete("/v2/:name{.+}/blobs/:digest", async (c) => {
  const repo = repoName(c);
  const digest = parseDigest(c.req.param("digest"));
  requireAccess(c, repo, "delete");
  denyWriteToMirror(c, repo);
  if (!c.get("config").deletesEnabled) throw new RegistryError("UNSUPPORTED", "deletes are disabled on this registry");
  if (!(await getBlobLink(c.get("storage"), repo, digest))) throw new RegistryError("BLOB_UNKNOWN", `blob unknown: ${formatDigest(digest)}`);
  // Only this repository's link goes; the bytes stay for every other repository that links
  // them, and garbage collection frees them once nothing does.
  await unlinkBlob(c.get("storage"), repo, digest);
  return c.body(null, 202);
});
