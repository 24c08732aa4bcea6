// /v2/<name>/blobs/uploads/: POST (end-4a/4b, end-11 mount), PATCH (end-5), PUT (end-6),
// GET status (end-13), DELETE (end-14). The Location of a session carries a signed state
// token that binds it to its repository and owner.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireAccess } from "../auth/middleware";
import { formatDigest, parseDigest } from "../oci/digest";
import { parseName } from "../oci/reference";
import { formatUploadRange } from "../oci/range";
import { mountBlob } from "../registry/mounts";
import { signStateToken, verifyStateToken } from "../registry/state-token";
import type { SessionIdentity } from "../registry/upload-lock";
import {
  appendChunk,
  cancelUpload,
  finishUpload,
  getUploadStatus,
  monolithicUpload,
  startUpload,
  type ChunkRequest,
  type UploadState,
} from "../registry/uploads";
import { deps, location } from "../http/request-deps";
import { repository } from "./params";

export const uploadRoutes = new Hono<AppEnv>();
const START = "/v2/:name{.+}/blobs/uploads/";
const SESSION = "/v2/:name{.+}/blobs/uploads/:id";

uploadRoutes.use(START, repository);
uploadRoutes.use(SESSION, repository);

async function sessionHeaders(c: Context<AppEnv>, state: UploadState): Promise<Record<string, string>> {
  const config = c.get("config");
  const token = await signStateToken(config.stateSecret, state, config.uploadMaxAgeSeconds);
  return {
    Location: location(c, `/v2/${state.repo}/blobs/uploads/${state.id}?_state=${token}`),
    Range: formatUploadRange(state.offset),
    "Docker-Upload-UUID": state.id,
    "OCI-Chunk-Min-Length": String(config.chunkMinLength),
    "OCI-Chunk-Max-Length": String(config.advertisedMaxChunkBytes),
    "Content-Length": "0",
  };
}

function blobCreated(c: Context<AppEnv>, repo: string, digest: string): Response {
  return new Response(null, {
    status: 201,
    headers: {
      Location: location(c, `/v2/${repo}/blobs/${digest}`),
      "Docker-Content-Digest": digest,
      "Content-Length": "0",
    },
  });
}

/** The chunk as it came; the core's acceptChunk reads its headers. */
function chunkRequest(c: Context<AppEnv>): ChunkRequest {
  return {
    body: c.req.raw.body,
    contentRange: c.req.header("Content-Range") ?? null,
    contentLength: c.req.header("Content-Length") ?? null,
  };
}

async function session(c: Context<AppEnv>): Promise<SessionIdentity> {
  const repo = c.get("repo");
  const identity = requireAccess(c, repo, "push");
  const who = { id: c.req.param("id") ?? "", repo, owner: identity.subject };
  await verifyStateToken(c.get("config").stateSecret, c.req.query("_state"), who);
  return who;
}

uploadRoutes.post(START, async (c) => {
  const repo = c.get("repo");
  const identity = requireAccess(c, repo, "push");
  const mount = c.req.query("mount");
  if (mount !== undefined) {
    const digest = parseDigest(mount);
    const fromRaw = c.req.query("from");
    const from = fromRaw === undefined || fromRaw === "" ? null : parseName(fromRaw);
    if (await mountBlob(deps(c), identity, repo, digest, from)) return blobCreated(c, repo, formatDigest(digest));
  }
  const digestParam = c.req.query("digest");
  if (digestParam !== undefined) {
    const digest = parseDigest(digestParam);
    await monolithicUpload(deps(c), repo, identity.subject, digest, chunkRequest(c));
    return blobCreated(c, repo, formatDigest(digest));
  }
  const state = await startUpload(deps(c), repo, identity.subject);
  return new Response(null, { status: 202, headers: await sessionHeaders(c, state) });
});

uploadRoutes.get(SESSION, async (c) => {
  const state = await getUploadStatus(deps(c), await session(c));
  return new Response(null, { status: 204, headers: await sessionHeaders(c, state) });
});

uploadRoutes.patch(SESSION, async (c) => {
  const who = await session(c);
  const state = await appendChunk(deps(c), who, chunkRequest(c));
  return new Response(null, { status: 202, headers: await sessionHeaders(c, state) });
});

uploadRoutes.put(SESSION, async (c) => {
  const who = await session(c);
  const digest = parseDigest(c.req.query("digest"));
  await finishUpload(deps(c), who, digest, chunkRequest(c));
  return blobCreated(c, who.repo, formatDigest(digest));
});

uploadRoutes.delete(SESSION, async (c) => {
  await cancelUpload(deps(c), await session(c));
  return c.body(null, 204);
});
