// Condemnation: how the garbage collector deletes an object that writers may rewrite at the
// same moment. R2 has no conditional delete, so the collector first rewrites the object with
// a `condemnedAt` stamp, conditional on the etag it judged; then re-checks what could refer
// to it; and only then deletes it. Writers never overwrite a condemned object: they wait
// until the collector has deleted or pardoned it. So the unconditional delete removes exactly
// what was judged. Readers ignore the stamp: a condemned object is served as usual.
// A collector that died leaves a stale stamp; after CONDEMN_LEASE_MS writers ignore it, and
// the collector never deletes once half the lease has passed (see docs/gc.md).

import { RegistryError } from "../errors";
import { headOf, versionOf, type ObjectHead, type ObjectVersion } from "./object-version";
import type { Storage } from "./storage";
import { bucketOf } from "./bindings";

export const CONDEMN_LEASE_MS = 30_000;
const POLL_MS = 40;

export function condemnedAt(object: { customMetadata?: Record<string, string> } | null): number | null {
  const raw = object?.customMetadata?.condemnedAt;
  return raw === undefined ? null : Number(raw);
}

/** A condemnation still in force: the collector may yet delete the object. */
function isCondemned(object: { customMetadata?: Record<string, string> } | null, now = Date.now()): boolean {
  const at = condemnedAt(object);
  return at !== null && now - at < CONDEMN_LEASE_MS;
}

/** The collector may delete what it condemned at `at` only well inside the lease. */
export function stillMayDelete(at: number, now = Date.now()): boolean {
  return now - at < CONDEMN_LEASE_MS / 2;
}

type Body = Uint8Array | string | null;

/** A record the collector judged: it names the version it was read at (storage/collector.ts). */
export interface Judged {
  version: ObjectVersion;
}

/**
 * Stamps the object as condemned if it is still the version the collector judged (`judged`
 * comes from a list or head with customMetadata). Returns the record at its condemned
 * version, or null when someone rewrote or deleted it first.
 */
export async function condemn<T extends Judged>(
  store: Storage,
  judged: T,
  body: Body,
  at = Date.now(),
): Promise<T | null> {
  const seen = headOf(judged.version);
  const written = await bucketOf(store).put(seen.key, body, {
    httpMetadata: seen.httpMetadata,
    customMetadata: { ...seen.customMetadata, condemnedAt: String(at) },
    onlyIf: { etagMatches: seen.etag },
  });
  return written ? { ...judged, version: versionOf(written) } : null;
}

/** Lifts a condemnation the re-check overturned, unless the object changed meanwhile. */
export async function pardon(store: Storage, condemned: Judged, body: Body): Promise<void> {
  const seen = headOf(condemned.version);
  const { condemnedAt: _dropped, ...customMetadata } = seen.customMetadata ?? {};
  await bucketOf(store).put(seen.key, body, {
    httpMetadata: seen.httpMetadata,
    customMetadata,
    onlyIf: { etagMatches: seen.etag },
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Heads the object, waiting while a condemnation is in force. Null when it is gone. */
export async function headSettled(store: Storage, key: string): Promise<ObjectHead | null> {
  for (;;) {
    const head = await bucketOf(store).head(key);
    if (!isCondemned(head)) return head;
    await sleep(POLL_MS);
  }
}

/**
 * A writer's put: creates or replaces the object, but never a condemned one. Conditional on
 * what it saw, so a condemnation landing between the head and the put makes it look again.
 * `replaces`, when given, is asked about what is there (null: nothing) before each try; the
 * put is skipped, and false returned, when it says no, so a writer whose precondition another
 * request broke meanwhile (an immutable tag created by a racing push) never overwrites it.
 */
export async function putUnlessCondemned(
  store: Storage,
  key: string,
  value: Body,
  options: { httpMetadata?: { contentType: string }; customMetadata: Record<string, string> },
  replaces: (seen: ObjectHead | null) => boolean = () => true,
): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const seen = await headSettled(store, key);
    if (!replaces(seen)) return false;
    const onlyIf = seen ? { etagMatches: seen.etag } : new Headers({ "If-None-Match": "*" });
    if (await bucketOf(store).put(key, value, { ...options, onlyIf })) return true;
  }
  throw writeContended();
}

/** Conditional writes that keep losing (a collector judging the same key over and over)
 *  give up with 429, which clients retry, rather than holding the request forever. */
export const MAX_WRITE_ATTEMPTS = 20;

export function writeContended(): RegistryError {
  return new RegistryError("TOOMANYREQUESTS", "storage is busy with garbage collection on this object; retry");
}
