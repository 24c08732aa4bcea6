// The benchmark's measured operations: registry pushes (docker-style streamed, chunked, and one PUT),
// pulls, and the bare worker's put and get.
import type { Agent } from "node:http";
import { absolute, send } from "./http";
import { payload } from "./data";

export interface Target {
  url: string;
  auth: string | null;
  /** Connections of their own (the memory tests give each upload one); the shared pool else. */
  agent?: Agent;
}

function headers(target: Target, extra: Record<string, string> = {}): Record<string, string> {
  return target.auth ? { Authorization: target.auth, ...extra } : extra;
}

/** POST of a new upload session; its absolute Location. */
export async function openUpload(target: Target, repo: string): Promise<string> {
  const reply = await send(
    `${target.url}/v2/${repo}/blobs/uploads/`,
    "POST",
    headers(target, { "Content-Length": "0" }),
    null,
    { agent: target.agent },
  );
  if (reply.status !== 202) throw new Error(`POST upload: ${reply.status} ${reply.body}`);
  return absolute(target.url, String(reply.headers.location));
}

async function closeUpload(target: Target, location: string, digest: string): Promise<void> {
  const url = new URL(location);
  url.searchParams.set("digest", digest);
  const reply = await send(url.toString(), "PUT", headers(target, { "Content-Length": "0" }), null);
  if (reply.status !== 201) throw new Error(`PUT close: ${reply.status} ${reply.body}`);
}

/** docker push: one PATCH with Transfer-Encoding: chunked and no length, then PUT ?digest=. */
export async function pushStreamed(target: Target, repo: string, size: number, digest: string): Promise<void> {
  const location = await openUpload(target, repo);
  const reply = await send(
    location,
    "PATCH",
    headers(target, { "Content-Type": "application/octet-stream" }),
    payload(size),
  );
  if (reply.status !== 202) throw new Error(`PATCH: ${reply.status} ${reply.body}`);
  await closeUpload(target, absolute(target.url, String(reply.headers.location)), digest);
}

/** A chunking client: PATCHes of `chunk` bytes with Content-Range and Content-Length. */
export async function pushChunked(
  target: Target,
  repo: string,
  size: number,
  digest: string,
  chunk: number,
): Promise<void> {
  let location = await openUpload(target, repo);
  for (let at = 0; at < size; at += chunk) {
    const end = Math.min(size, at + chunk);
    const reply = await send(
      location,
      "PATCH",
      headers(target, {
        "Content-Type": "application/octet-stream",
        "Content-Range": `${at}-${end - 1}`,
        "Content-Length": String(end - at),
      }),
      payload(size, at, end),
    );
    if (reply.status !== 202) throw new Error(`PATCH ${at}-${end - 1}: ${reply.status} ${reply.body}`);
    location = absolute(target.url, String(reply.headers.location));
  }
  await closeUpload(target, location, digest);
}

/** containerd, oras, helm: POST, then one PUT ?digest= carrying the whole body with its length. */
export async function pushWhole(target: Target, repo: string, size: number, digest: string): Promise<void> {
  const location = new URL(await openUpload(target, repo));
  location.searchParams.set("digest", digest);
  const reply = await send(
    location.toString(),
    "PUT",
    headers(target, { "Content-Type": "application/octet-stream", "Content-Length": String(size) }),
    payload(size),
  );
  if (reply.status !== 201) throw new Error(`PUT whole: ${reply.status} ${reply.body}`);
}

export async function pullBlob(target: Target, repo: string, digest: string): Promise<void> {
  const reply = await send(`${target.url}/v2/${repo}/blobs/${digest}`, "GET", headers(target), null, { hash: true });
  if (reply.status !== 200 || reply.sha256 !== digest)
    throw new Error(`GET blob: ${reply.status}, got ${reply.sha256}`);
}

export async function barePut(url: string, key: string, size: number): Promise<void> {
  const reply = await send(`${url}/${key}`, "PUT", { "Content-Length": String(size) }, payload(size));
  if (reply.status !== 201) throw new Error(`bare PUT: ${reply.status} ${reply.body}`);
}

export async function bareGet(url: string, key: string, digest: string): Promise<void> {
  const reply = await send(`${url}/${key}`, "GET", {}, null, { hash: true });
  if (reply.status !== 200 || reply.sha256 !== digest)
    throw new Error(`bare GET: ${reply.status}, got ${reply.sha256}`);
}
