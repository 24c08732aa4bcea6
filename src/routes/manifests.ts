// /v2/<name>/manifests/<reference>: GET and HEAD (end-3), PUT (end-7) with ?tag= for
// multi-tag pushes, DELETE by digest or tag (end-9).
import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireAccess } from "../auth/middleware";
import { formatDigest } from "../oci/digest";
import { parseReference, parseTag } from "../oci/reference";
import { deleteManifest, findManifest, storeManifest } from "../registry/manifests";
import { readBoundedBody } from "../http/request-body";
import { deps, location } from "../http/request-deps";
import { repository } from "./params";

export const manifestRoutes = new Hono<AppEnv>();
const PATH = "/v2/:name{.+}/manifests/:reference";

manifestRoutes.use(PATH, repository);

manifestRoutes.get(PATH, async (c) => {
  const repo = c.get("repo");
  requireAccess(c, repo, "pull");
  const reference = parseReference(c.req.param("reference"), "read");
  const withBody = c.req.method !== "HEAD";
  const manifest = await findManifest(deps(c), repo, reference, withBody);
  const digest = formatDigest(manifest.digest);
  const headers: Record<string, string> = {
    "Content-Type": manifest.contentType,
    "Content-Length": String(manifest.size),
    "Docker-Content-Digest": digest,
    ETag: `"${digest}"`,
  };
  if (manifest.warning) headers.Warning = manifest.warning;
  return new Response(manifest.body, { status: 200, headers });
});

manifestRoutes.put(PATH, async (c) => {
  const repo = c.get("repo");
  const reference = parseReference(c.req.param("reference"), "write");
  const extraTags = c.req.queries("tag")?.map(parseTag) ?? [];
  requireAccess(c, repo, "push");
  const bytes = await readBoundedBody(c, c.get("config").maxManifestBytes);
  const result = await storeManifest(deps(c), {
    repo,
    reference,
    extraTags,
    bytes,
    contentType: c.req.header("Content-Type") ?? null,
  });
  const digest = formatDigest(result.digest);
  const headers = new Headers({
    Location: location(c, `/v2/${repo}/manifests/${digest}`),
    "Docker-Content-Digest": digest,
    "Content-Length": "0",
  });
  for (const tag of result.tags) headers.append("OCI-Tag", tag);
  if (result.subject) headers.set("OCI-Subject", formatDigest(result.subject));
  return new Response(null, { status: 201, headers });
});

manifestRoutes.delete(PATH, async (c) => {
  const repo = c.get("repo");
  const reference = parseReference(c.req.param("reference"), "write");
  // requireAccess answers a caller without the right with the auth challenge; the core's
  // policy then refuses mirrors and a registry without deletes.
  await deleteManifest(deps(c), requireAccess(c, repo, "delete"), repo, reference);
  return c.body(null, 202);
});
