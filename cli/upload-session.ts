// The distribution-spec upload endpoints, one call each: open (POST, or POST ?mount=),
// status (GET on the session), append (PATCH with Content-Range) and close (PUT ?digest=).
// Always follow the Location the registry returns: it carries the signed session state.
import type { Readable } from "node:stream";
import { parseUploadRange } from "./chunk-plan.js";
import { CliError } from "./errors.js";
import type { HttpResponse } from "./http.js";
import type { RegistryClient } from "./registry-client.js";

export interface Session {
  /** Absolute URL of the session, from the latest Location. */
  location: string;
  /** Bytes the registry holds. */
  offset: number;
  chunkMax: number | null;
  chunkMin: number | null;
}

function numberHeader(response: HttpResponse, name: string): number | null {
  const value = Number(response.header(name));
  return Number.isSafeInteger(value) && value > 0 ? value : null;
}

function sessionFrom(client: RegistryClient, response: HttpResponse, fallback?: Session): Session {
  const location = response.header("location");
  if (!location && !fallback) throw new CliError(`upload response ${response.status} without Location`);
  return {
    location: location ? client.resolve(location) : fallback!.location,
    offset: parseUploadRange(response.header("range")) ?? fallback?.offset ?? 0,
    chunkMax: numberHeader(response, "oci-chunk-max-length") ?? fallback?.chunkMax ?? null,
    chunkMin: numberHeader(response, "oci-chunk-min-length") ?? fallback?.chunkMin ?? null,
  };
}

/** Mounts `digest` from `from` when it can; otherwise the registry opens a session. */
export async function openSession(
  client: RegistryClient,
  mount?: { digest: string; from: string },
): Promise<Session | "mounted"> {
  const query = mount ? `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}` : "";
  const response = await client.request({
    method: "POST",
    url: `/v2/${client.repo}/blobs/uploads/${query}`,
    headers: { "Content-Length": "0" },
  });
  if (response.status === 201) {
    await response.drain();
    return "mounted";
  }
  if (response.status !== 202) throw await client.failure(response, "starting an upload");
  await response.drain();
  return sessionFrom(client, response);
}

/** Gives a session up (DELETE), so a refused mount's session does not wait for expiry.
 *  Best effort: the registry forgets sessions on its own. */
export async function cancelSession(client: RegistryClient, session: Session): Promise<void> {
  const response = await client.request({ method: "DELETE", url: session.location }).catch(() => null);
  await response?.drain();
}

/** Where a session stands, or null when the registry no longer knows it. */
export async function sessionStatus(client: RegistryClient, location: string): Promise<Session | null> {
  const response = await client.request({ method: "GET", url: location });
  await response.drain();
  if (response.status === 404 || response.status === 400 || response.status === 410) return null;
  if (response.status !== 204 && response.status !== 200)
    throw await client.failure(response, "reading the upload status");
  return sessionFrom(client, response, { location, offset: 0, chunkMax: null, chunkMin: null });
}

export class RangeMismatch extends CliError {
  constructor(readonly registryOffset: number | null) {
    super(`the registry holds ${registryOffset ?? "an unknown number of"} bytes of this upload`, null, 416, true);
  }
}

/** PATCH bytes [start, end] of the blob; `body` opens exactly those bytes. */
export async function appendChunk(
  client: RegistryClient,
  session: Session,
  start: number,
  end: number,
  body: () => Readable,
  onBytes: (n: number) => void,
): Promise<Session> {
  const response = await client.request({
    method: "PATCH",
    url: session.location,
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Range": `${start}-${end}`,
      "Content-Length": String(end - start + 1),
    },
    body,
    onBodyBytes: onBytes,
  });
  if (response.status === 416) {
    await response.drain();
    throw new RangeMismatch(parseUploadRange(response.header("range")));
  }
  if (response.status !== 202 && response.status !== 204)
    throw await client.failure(response, `PATCH bytes ${start}-${end}`);
  await response.drain();
  return sessionFrom(client, response, { ...session, offset: end + 1 });
}

/** Closes the session as blob `digest` (no body: every byte went up in PATCHes). */
export async function closeSession(client: RegistryClient, session: Session, digest: string): Promise<void> {
  const url = new URL(session.location);
  url.searchParams.set("digest", digest);
  const response = await client.request({ method: "PUT", url: url.toString(), headers: { "Content-Length": "0" } });
  if (response.status !== 201 && response.status !== 204)
    throw await client.failure(response, `closing the upload of ${digest}`);
  await response.drain();
}
