// /v2/<name>/blobs/uploads/: POST (end-4a/4b, end-11 mount), PATCH (end-5), PUT (end-6),
// GET status (end-13), DELETE (end-14). The Location of a session carries a signed state
// token that binds it to its repository and owner.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../app-env";
import { requireAccess } from "../auth/middleware";
import { RegistryError } from "../errors";
import { formatDigest, parseDigest } from "../oci/digest";
import { parseName } from "../oci/reference";
import { formatUploadRange, parseChunkRange } from "../oci/range";
import { mountBlob } from "../registry/mounts";
import { signStateToken, verifyStateToken } from "../registry/state-token";
import type { SessionIdentity } from "../registry/upload-lock";
import { appendChunk, cancelUpload, finishUpload, getUploadStatus, monolithicUpload, startUpload, type Chunk } from "../registry/uploads";
import type { UploadState } from "../storage/uploads";
import { checkBodyLimit, contentLength, deps, repoName } from "./params";
import { denyWriteToMirror } from "../proxy/hooks";

export const uploadRoutes = new Hono<AppEnv>();

async function sessionHeaders(c: Context<AppEnv>, state: UploadState): Promise<Record<string, string>> {
  const config = c.get("config");
  const token = await signStateToken(config.stateSecret, state, config.uploadMaxAgeSeconds);
  return {
    Location: `/v2/${state.repo}/blobs/uploads/${state.id}?_state=${token}`,
    Range: formatUploadRange(state.offset),
    "Docker-Upload-UUID": state.id,
    "OCI-Chunk-Min-Length": String(config.chunkMinLength),
    "OCI-Chunk-Max-Length": String(config.advertisedMaxChunkBytes),
    "Content-Length": "0",
  };
}

function blobCreated(repo: string, digest: string): Response {
  return new Response(null, {
    status: 201,
    headers: { Location: `/v2/${repo}/blobs/${digest}`, "Docker-Content-Digest": digest, "Content-Length": "0" },
  });
}

function readChunk(c: Context<AppEnv>): Chunk {
  checkBodyLimit(c);
  const rangeHeader = c.req.header("Content-Range");
  const range = rangeHeader === undefined ? null : parseChunkRange(rangeHeader);
  if (rangeHeader !== undefined && !range) throw new RegistryError("RANGE_INVALID", `malformed Content-Range: ${rangeHeader.slice(0, 100)}`);
  return { body: c.req.raw.body, range, contentLength: contentLength(c) };
}

async function session(c: Context<AppEnv>): Promise<SessionIdentity> {
  const repo = repoName(c);
  const identity = requireAccess(c, repo, "push");
  const who = { id: c.req.param("id") ?? "", repo, owner: identity.subject };
  await verifyStateToken(c.get("config").stateSecret, c.req.query("_state"), who);
  return who;
}

uploadRoutes.post("/v2/:name{.+}/blobs/uploads/", async (c) => {
  const repo = repoName(c);
  const identity = requireAccess(c, repo, "push");
  denyWriteToMirror(c, repo);
  const mount = c.req.query("mount");
  if (mount !== undefined) {
    const digest = parseDigest(mount);
    const fromRaw = c.req.query("from");
    const from = fromRaw === undefined || fromRaw === "" ? null : parseName(fromRaw);
    if (await mountBlob(c.get("storage"), identity, repo, digest, from)) return blobCreated(repo, formatDigest(digest));
  }
  const digestParam = c.req.query("digest");
  if (digestParam !== undefined) {
    const digest = parseDigest(digestParam);
    await monolithicUpload(deps(c), repo, identity.subject, digest, readChunk(c));
    return blobCreated(repo, formatDigest(digest));
  }
  const state = await startUpload(deps(c), repo, identity.subject);
  return new Response(null, { status: 202, headers: await sessionHeaders(c, state) });
});

uploadRoutes.get("/v2/:name{.+}/blobs/uploads/:id", async (c) => {
  const state = await getUploadStatus(deps(c), await session(c));
  return new Response(null, { status: 204, headers: await sessionHeaders(c, state) });
});

uploadRoutes.patch("/v2/:name{.+}/blobs/uploads/:id", async (c) => {
  const who = await session(c);
  const state = await appendChunk(deps(c), who, readChunk(c));
  return new Response(null, { status: 202, headers: await sessionHeaders(c, state) });
});

uploadRoutes.put("/v2/:name{.+}/blobs/uploads/:id", async (c) => {
  const who = await session(c);
  const digest = parseDigest(c.req.query("digest"));
  await finishUpload(deps(c), who, digest, readChunk(c));
  return blobCreated(who.repo, formatDigest(digest));
});

uploadRoutes.delete("/v2/:name{.+}/blobs/uploads/:id", async (c) => {
  await cancelUpload(deps(c), await session(c));
  return c.body(null, 204);
});
