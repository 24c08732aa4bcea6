// Pull-through blobs. A miss streams the upstream's bytes to the client while they are
// written to R2; the blob becomes visible (record + link) only after its digest checks out.
// The client's last chunk is held back until then, so a corrupt upstream never hands a client
// a complete body either. One fetch per blob at a time: a short-lived R2 marker, claimed with
// If-None-Match, makes concurrent pulls wait for the first instead of fetching again.
import { RegistryError } from "../errors";
import { formatDigest, type Digest } from "../oci/digest";
import { createBlobRecord, getBlobRecord, linkBlob, type BlobRecord } from "../storage/blobs";
import { openBlobSink, type BlobSink } from "./blob-sink";
import { routesFor, type UpstreamRoute } from "./config";
import { claimBlobFetch, getBlobFetch, refreshBlobFetch, releaseBlobFetch } from "./store";
import { asRegistryError, firstUpstream, UpstreamCorrupt, type ProxyDeps } from "./upstreams";

/** A claim without a heartbeat for this long was abandoned (its worker died). */
const CLAIM_STALE_MS = 60_000;
const HEARTBEAT_MS = 15_000;
const WAIT_POLL_MS = 250;
/** Past this, a waiter stops waiting and streams from upstream without caching. */
const WAIT_LIMIT_MS = 5 * 60_000;

function blobHeaders(digest: Digest, length: number | null): Headers {
  const text = formatDigest(digest);
  const headers = new Headers({ "Content-Type": "application/octet-stream", "Docker-Content-Digest": text, ETag: `"${text}"` });
  if (length !== null) headers.set("Content-Length", String(length));
  return headers;
}

function declaredLength(response: Response): number | null {
  const raw = response.headers.get("Content-Length");
  if (raw === null || response.headers.get("Content-Encoding")) return null;
  return /^[0-9]{1,15}$/.test(raw) ? Number(raw) : null;
}

/** Upstream bodies arrive in chunks of a few KiB; each R2 write costs a round trip, so they
 *  are gathered into batches of this size. Memory holds about three batches. */
const BATCH_BYTES = 1024 * 1024;

async function readBatches(source: ReadableStream<Uint8Array>, forward: (batch: Uint8Array) => Promise<void>): Promise<void> {
  const reader = source.getReader();
  let batch = new Uint8Array(BATCH_BYTES);
  let fill = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    for (let at = 0; at < r.value.length; ) {
      const take = Math.min(r.value.length - at, BATCH_BYTES - fill);
      batch.set(r.value.subarray(at, at + take), fill);
      fill += take;
      at += take;
      if (fill === BATCH_BYTES) {
        await forward(batch);
        batch = new Uint8Array(BATCH_BYTES);
        fill = 0;
      }
    }
  }
  if (fill > 0) await forward(batch.subarray(0, fill));
}

/** Copies upstream bytes into the sink and to the client; verifies, then publishes. */
async function pump(deps: ProxyDeps, repo: string, digest: Digest, source: ReadableStream<Uint8Array>, sink: BlobSink, client: WritableStreamDefaultWriter<Uint8Array>, owner: string): Promise<void> {
  let clientOpen = true;
  const toClient = async (chunk: Uint8Array) => {
    // A client that went away does not stop the cache from filling.
    if (clientOpen) await client.write(chunk).catch(() => (clientOpen = false));
  };
  let held: Uint8Array | null = null;
  let beat = Date.now();
  // Each batch goes to R2 while the one before goes to the client.
  const forward = async (batch: Uint8Array) => {
    await Promise.all([sink.write(batch), held ? toClient(held) : null]);
    held = batch;
    if (Date.now() - beat > HEARTBEAT_MS) {
      beat = Date.now();
      await refreshBlobFetch(deps.store, digest, owner);
    }
  };
  try {
    await readBatches(source, forward);
    const { size, hex } = await sink.finish();
    if (hex !== digest.hex) throw new UpstreamCorrupt(`blob hashes to ${digest.algorithm}:${hex}, expected ${formatDigest(digest)}`);
    const record = await createBlobRecord(deps.store, digest, { dataKey: sink.dataKey, size });
    // Someone else published the same bytes first: theirs are the blob, ours go.
    if (record.dataKey !== sink.dataKey) await deps.store.bucket.delete(sink.dataKey);
    await linkBlob(deps.store, repo, digest, record);
    if (held) await toClient(held);
    if (clientOpen) await client.close().catch(() => {});
  } catch (error) {
    console.error(`pull-through: ${formatDigest(digest)} not cached:`, error instanceof Error ? error.message : String(error));
    await sink.abort();
    await client.abort(error).catch(() => {});
  } finally {
    await releaseBlobFetch(deps.store, digest).catch(() => {});
  }
}

/** Fetches the blob upstream (we hold the claim) and answers with the streaming copy. */
async function fetchAndCache(deps: ProxyDeps, repo: string, routes: UpstreamRoute[], digest: Digest, owner: string): Promise<Response> {
  let response: Response;
  try {
    response = await firstUpstream(deps, routes, `blobs/${formatDigest(digest)}`, {}, async (r) => r, "BLOB_UNKNOWN");
  } catch (error) {
    await releaseBlobFetch(deps.store, digest).catch(() => {});
    throw error;
  }
  const length = declaredLength(response);
  const sink = openBlobSink(deps.store, digest, length, deps.config.partSize);
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  deps.waitUntil(pump(deps, repo, digest, response.body!, sink, writable.getWriter(), owner));
  return new Response(readable, { status: 200, headers: blobHeaders(digest, length) });
}

/** Someone else is fetching: wait for their record. Null when the claim was given up, so
 *  the caller should try to claim it. */
async function waitForFetch(deps: ProxyDeps, digest: Digest, deadline: number): Promise<BlobRecord | "retry" | "timeout"> {
  for (;;) {
    const record = await getBlobRecord(deps.store, digest);
    if (record) return record;
    const marker = await getBlobFetch(deps.store, digest);
    if (!marker) return "retry";
    if (Date.now() - marker.heartbeatAt > CLAIM_STALE_MS) {
      await releaseBlobFetch(deps.store, digest);
      return "retry";
    }
    if (Date.now() > deadline) return "timeout";
    await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
  }
}

/** Streams straight from upstream with nothing cached: HEAD, Range, or a waiter out of time. */
async function passThrough(deps: ProxyDeps, routes: UpstreamRoute[], digest: Digest, request: Request): Promise<Response> {
  const headers: Record<string, string> = {};
  const range = request.headers.get("Range");
  if (range) headers.Range = range;
  const init = { method: request.method === "HEAD" ? "HEAD" : "GET", headers };
  const response = await firstUpstream(deps, routes, `blobs/${formatDigest(digest)}`, init, async (r) => r, "BLOB_UNKNOWN");
  const out = blobHeaders(digest, declaredLength(response));
  for (const name of ["Content-Range", "Accept-Ranges"]) {
    const value = response.headers.get(name);
    if (value) out.set(name, value);
  }
  return new Response(request.method === "HEAD" ? null : response.body, { status: response.status, headers: out });
}

/**
 * A blob the repository does not link. For a mirrored repository: a record the bucket
 * already holds is linked (returned, for the caller to serve); otherwise the upstream's
 * bytes are served and cached. Null when the repository is not mirrored.
 */
export async function pullThroughBlob(deps: ProxyDeps, repo: string, digest: Digest, request: Request): Promise<BlobRecord | Response | null> {
  const routes = routesFor(deps.config.proxy, repo);
  if (routes.length === 0) return null;
  try {
    const deadline = Date.now() + WAIT_LIMIT_MS;
    for (;;) {
      const record = await getBlobRecord(deps.store, digest);
      if (record) {
        await linkBlob(deps.store, repo, digest, record);
        return record;
      }
      if (request.method === "HEAD" || request.headers.has("Range")) return await passThrough(deps, routes, digest, request);
      const owner = crypto.randomUUID();
      if (await claimBlobFetch(deps.store, digest, owner)) return await fetchAndCache(deps, repo, routes, digest, owner);
      const waited = await waitForFetch(deps, digest, deadline);
      if (waited === "timeout") return await passThrough(deps, routes, digest, request);
      if (waited !== "retry") {
        await linkBlob(deps.store, repo, digest, waited);
        return waited;
      }
    }
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw asRegistryError(error);
  }
}
