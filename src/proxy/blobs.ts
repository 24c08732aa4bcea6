// Pull-through blobs. A miss streams the upstream's bytes to the client while they are
// written to R2; the blob becomes visible (record + link) only after its digest checks out.
// That holds when the bucket already has the blob for another repository too: the upstream's
// bytes, not the bucket's record, are what entitle this repository to it. The client's last
// chunk is held back until then, so a corrupt upstream never hands a client a complete body
// either. One fetch per blob at a time: a short-lived R2 marker, claimed with If-None-Match,
// makes concurrent pulls of the repository wait for the first instead of fetching again.
import { RegistryError } from "../errors";
import { formatDigest, type Digest } from "../oci/digest";
import { publishStoredBlob } from "../storage/blob-links";
import { BlobDataWriter } from "../storage/blob-data";
import { getBlobLink, getBlobRecord, type BlobRecord } from "../storage/blobs";
import { claimBlobFetch, getBlobFetch, refreshBlobFetch, releaseBlobFetch } from "../storage/proxy-fetch";
import { routesFor, type UpstreamRoute } from "../config/upstreams";
import { asRegistryError, firstUpstream, UpstreamCorrupt } from "./upstreams";
import type { Deps } from "../storage/deps";

/** An upstream's blob answer as the pull-through cache passes it on. The core passes it to the
 *  route, which gives it the headers every blob answer has, so a proxied copy looks like a stored one. */
export interface UpstreamBlob {
  status: number;
  /** Null for HEAD. */
  body: ReadableStream | null;
  /** The length the upstream declared; null when it did not (or compressed the body). */
  length: number | null;
  contentRange: string | null;
  acceptRanges: string | null;
}

/** What a mirrored repository's blob GET gets from the cache: the link a finished fill (or
 *  one that finished while this request waited) made, or the upstream's answer, streaming. */
export type PulledBlob = { kind: "stored"; link: BlobRecord } | { kind: "upstream"; blob: UpstreamBlob };

/** A claim without a heartbeat for this long was abandoned (its worker died). */
const CLAIM_STALE_MS = 60_000;
const HEARTBEAT_MS = 15_000;
const WAIT_POLL_MS = 250;
/** Past this, a waiter stops waiting and streams from upstream without caching. */
const WAIT_LIMIT_MS = 5 * 60_000;

function declaredLength(response: Response): number | null {
  const raw = response.headers.get("Content-Length");
  if (raw === null || response.headers.get("Content-Encoding")) return null;
  return /^[0-9]{1,15}$/.test(raw) ? Number(raw) : null;
}

/** Copies upstream bytes to R2 and to the client; verifies, then publishes. Each chunk goes
 *  to the writer while the one before goes to the client, and the last one is held back
 *  until the digest checks out, so a corrupt upstream never hands a client a whole body. */
async function cacheWhileRelaying(
  deps: Deps,
  repo: string,
  digest: Digest,
  source: ReadableStream<Uint8Array>,
  writer: BlobDataWriter,
  client: WritableStreamDefaultWriter<Uint8Array>,
  owner: string,
): Promise<void> {
  let clientOpen = true;
  const toClient = async (chunk: Uint8Array) => {
    // A client that went away does not stop the cache from filling.
    if (clientOpen) await client.write(chunk).catch(() => (clientOpen = false));
  };
  let held: Uint8Array | null = null;
  let beat = Date.now();
  try {
    const reader = source.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      await Promise.all([writer.write(r.value), held ? toClient(held) : null]);
      held = r.value;
      if (Date.now() - beat > HEARTBEAT_MS) {
        beat = Date.now();
        await refreshBlobFetch(deps.store, digest, owner);
      }
    }
    await writer.finish();
    const hex = await writer.hexDigest();
    if (hex !== digest.hex)
      throw new UpstreamCorrupt(`blob hashes to ${digest.algorithm}:${hex}, expected ${formatDigest(digest)}`);
    // The core's publication: record (or someone else's), then a verified link.
    await publishStoredBlob(deps.store, repo, digest, { dataKey: writer.dataKey, size: writer.size });
    if (held) await toClient(held);
    if (clientOpen) await client.close().catch(() => {});
  } catch (error) {
    console.error(
      `pull-through: ${formatDigest(digest)} not cached:`,
      error instanceof Error ? error.message : String(error),
    );
    // Bytes a record already names stay (the record won); anything else goes.
    const record = await getBlobRecord(deps.store, digest).catch(() => null);
    if (record?.dataKey !== writer.dataKey) await writer.abort();
    await client.abort(error).catch(() => {});
  } finally {
    await releaseBlobFetch(deps.store, digest).catch(() => {});
  }
}

/** Fetches the blob upstream (we hold the claim) and answers with the streaming copy. */
async function fetchAndCache(
  deps: Deps,
  repo: string,
  routes: UpstreamRoute[],
  digest: Digest,
  owner: string,
): Promise<UpstreamBlob> {
  let response: Response;
  try {
    response = await firstUpstream(deps, routes, `blobs/${formatDigest(digest)}`, {}, async (r) => r, "BLOB_UNKNOWN");
  } catch (error) {
    await releaseBlobFetch(deps.store, digest).catch(() => {});
    throw error;
  }
  const length = declaredLength(response);
  // One part buffer at a time (partsInFlight 0): a pull-through fill shares the isolate with
  // client requests, and is not waited on by anyone but the client.
  const writer = await BlobDataWriter.open(deps.store, `proxy-${crypto.randomUUID()}`, {
    partSize: deps.config.partSize,
    length,
    partsInFlight: 0,
    hash: digest.algorithm,
  });
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  deps.waitUntil(cacheWhileRelaying(deps, repo, digest, response.body!, writer, writable.getWriter(), owner));
  return { status: 200, body: readable, length, contentRange: null, acceptRanges: null };
}

/** Someone else is fetching the digest: wait until this repository links it ("ready": their
 *  fetch was for this repository, and verified) or their claim was given up or finished for
 *  another repository ("retry": the caller claims it and asks the upstream itself), at most
 *  until `deadline`. A record the bucket holds is no answer: only the upstream's bytes are. */
async function waitForFetch(
  deps: Deps,
  repo: string,
  digest: Digest,
  deadline: number,
): Promise<"ready" | "retry" | "timeout"> {
  for (;;) {
    if (await getBlobLink(deps.store, repo, digest)) return "ready";
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
async function passThrough(
  deps: Deps,
  routes: UpstreamRoute[],
  digest: Digest,
  request: Request,
): Promise<UpstreamBlob> {
  const headers: Record<string, string> = {};
  const range = request.headers.get("Range");
  if (range) headers.Range = range;
  const isHead = request.method === "HEAD";
  const init = { method: isHead ? "HEAD" : "GET", headers };
  const response = await firstUpstream(
    deps,
    routes,
    `blobs/${formatDigest(digest)}`,
    init,
    async (r) => r,
    "BLOB_UNKNOWN",
  );
  if (isHead) await response.body?.cancel();
  return {
    status: response.status,
    body: isHead ? null : response.body,
    length: declaredLength(response),
    contentRange: response.headers.get("Content-Range"),
    acceptRanges: response.headers.get("Accept-Ranges"),
  };
}

const upstream = (blob: UpstreamBlob): PulledBlob => ({ kind: "upstream", blob });

/**
 * A blob the repository does not link. For a mirrored repository the upstream is asked, and
 * only its bytes, verified against the digest, make a link (publishStoredBlob): a record the
 * bucket already holds for another repository is never linked on its own say, or any caller
 * who may pull a mirror name would read every private blob whose digest they know. HEAD and
 * Range are the upstream's answer passed through, and link nothing. Null when the repository
 * is not mirrored.
 */
export async function pullThroughBlob(
  deps: Deps,
  repo: string,
  digest: Digest,
  request: Request,
): Promise<PulledBlob | null> {
  const routes = routesFor(deps.config.proxy, repo);
  if (routes.length === 0) return null;
  try {
    if (request.method === "HEAD" || request.headers.has("Range"))
      return upstream(await passThrough(deps, routes, digest, request));
    const deadline = Date.now() + WAIT_LIMIT_MS;
    for (;;) {
      const owner = crypto.randomUUID();
      if (await claimBlobFetch(deps.store, digest, owner))
        return upstream(await fetchAndCache(deps, repo, routes, digest, owner));
      const waited = await waitForFetch(deps, repo, digest, deadline);
      if (waited === "timeout") return upstream(await passThrough(deps, routes, digest, request));
      const link = waited === "ready" ? await getBlobLink(deps.store, repo, digest) : null;
      if (link) return { kind: "stored", link };
    }
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw asRegistryError(error);
  }
}
