// The events' storage: the queue they travel through (the outbox the core sends to and the
// consumer fans out on) and, in R2, the activity log and the record of deliveries that ran
// out of retries. Both logs are keyed by inverted event time, so a listing starts with the
// newest, and the expired entries are the ones after a known key: one listing finds them.
// The event's shape is the events service's (src/events/event.ts); this module stores JSON.
import { keys } from "./keys";
import type { Storage } from "./storage";
import { bucketOf, eventsQueueOf } from "./bindings";

const INVERT = 10_000_000_000_000;
const JSON_TYPE = { httpMetadata: { contentType: "application/json" } };
/** A page of the logs is read object by object; this bounds the reads one call makes. */
export const MAX_ACTIVITY_PAGE = 100;
/** What one expiry call may delete, per log (one listing and one delete call each). */
export const MAX_EXPIRED_PER_CALL = 1000;

/** "<inverted ms, 13 digits>-<suffix>": sorts newest first. */
function entryName(timeMs: number, suffix: string): string {
  return `${String(INVERT - timeMs).padStart(13, "0")}-${suffix}`;
}
const ENTRY_NAME = /^\d{13}-[A-Za-z0-9-]{1,80}$/;

/** Sends messages to the events queue in one batch; false when there are some and no queue
 *  is bound (the deployment has no [[queues.producers]] EVENTS), so the caller knows nothing
 *  went. */
export async function enqueueEventMessages(
  store: Storage,
  bodies: readonly object[],
  delaySeconds?: number,
): Promise<boolean> {
  if (bodies.length === 0) return true;
  const queue = eventsQueueOf(store);
  if (!queue) return false;
  await queue.sendBatch(bodies.map((body) => ({ body, contentType: "json" as const, delaySeconds })));
  return true;
}

/** What a listing may filter on without reading bodies (kept as customMetadata). */
export interface ActivityFacts {
  id: string;
  timeMs: number;
  kind: string;
  repository: string | null;
  actor: string | null;
}

/** Appends an event to the activity log. Idempotent: the name comes from the event's own
 *  time and id, so a consumer retry rewrites the same entry. */
export async function appendActivity(store: Storage, facts: ActivityFacts, event: unknown): Promise<void> {
  const customMetadata: Record<string, string> = { kind: facts.kind };
  if (facts.repository !== null) customMetadata.repository = facts.repository;
  if (facts.actor !== null) customMetadata.actor = facts.actor;
  await bucketOf(store).put(keys.activity(entryName(facts.timeMs, facts.id)), JSON.stringify(event), {
    ...JSON_TYPE,
    customMetadata,
  });
}

export interface LogPage<T> {
  entries: T[];
  /** Opaque: pass it back for the next (older) page; null after the last. A page may end
   *  short of its limit, even empty, with a cursor: the scan budget ran out first. */
  cursor: string | null;
}

/** Listing pages one call may scan for a filtered page: at most this many R2 list calls
 *  (and 1000 names each), whatever the filter. */
export const MAX_SCANNED_PAGES = 3;

function factsOf(name: string, meta: Record<string, string> | undefined): ActivityFacts {
  return {
    id: name.slice(14),
    timeMs: INVERT - Number(name.slice(0, 13)),
    kind: meta?.kind ?? "",
    repository: meta?.repository ?? null,
    actor: meta?.actor ?? null,
  };
}

async function readPage<T>(
  store: Storage,
  prefix: string,
  limit: number,
  cursor: string | null,
  wanted: (facts: ActivityFacts) => boolean,
): Promise<LogPage<T>> {
  const n = Math.max(1, Math.min(limit, MAX_ACTIVITY_PAGE));
  let after = cursor !== null && ENTRY_NAME.test(cursor) ? prefix + cursor : undefined;
  const keys: string[] = [];
  let more = true;
  for (let scanned = 0; scanned < MAX_SCANNED_PAGES && keys.length < n && more; scanned++) {
    const listed = await bucketOf(store).list({ prefix, startAfter: after, limit: 1000, include: ["customMetadata"] });
    let read = 0;
    for (const object of listed.objects) {
      read++;
      after = object.key;
      if (wanted(factsOf(object.key.slice(prefix.length), object.customMetadata))) keys.push(object.key);
      if (keys.length === n) break;
    }
    more = listed.truncated || read < listed.objects.length;
  }
  const bodies = await Promise.all(keys.map((key) => bucketOf(store).get(key)));
  const entries: T[] = [];
  for (const body of bodies) if (body) entries.push((await body.json()) as T);
  return { entries, cursor: more && after ? after.slice(prefix.length) : null };
}

/** Up to `limit` (at most MAX_ACTIVITY_PAGE) events that `wanted` keeps, judged by their
 *  facts without reading bodies, newest first, after `cursor`. */
export function listActivity<T>(
  store: Storage,
  limit: number,
  cursor: string | null,
  wanted: (facts: ActivityFacts) => boolean = () => true,
): Promise<LogPage<T>> {
  return readPage<T>(store, keys.activityPrefix(), limit, cursor, wanted);
}

export interface DeadDelivery {
  eventId: string;
  eventTime: string;
  webhook: number;
  /** The webhook's host when it was recorded; null if WEBHOOKS_JSON no longer lists it. */
  host: string | null;
  /** When the dead-letter queue's consumer recorded it. */
  recordedAt: string;
}

/** Records a delivery that ran out of retries. Idempotent per event and webhook. */
export async function recordDeadDelivery(store: Storage, dead: DeadDelivery): Promise<void> {
  const name = entryName(Date.parse(dead.eventTime), `${dead.eventId}-${dead.webhook}`);
  await bucketOf(store).put(keys.deadDelivery(name), JSON.stringify(dead), JSON_TYPE);
}

/** Up to `limit` dead deliveries, newest event first, after `cursor`. */
export function listDeadDeliveries(
  store: Storage,
  limit: number,
  cursor: string | null,
): Promise<LogPage<DeadDelivery>> {
  return readPage<DeadDelivery>(store, keys.deadDeliveryPrefix(), limit, cursor, () => true);
}

/** Deletes up to `max` (at most MAX_EXPIRED_PER_CALL) entries of each log whose event is
 *  older than `beforeMs`; returns how many went. Entries older than the cutoff sort after
 *  its inverted name, so the listing starts at the first expired one. Call again while it
 *  returns `max`. */
export async function deleteExpiredEvents(store: Storage, beforeMs: number, max: number): Promise<number> {
  const n = Math.max(1, Math.min(max, MAX_EXPIRED_PER_CALL));
  // "~" sorts after every id character, so the cutoff's own millisecond is kept.
  const cutoff = String(INVERT - beforeMs).padStart(13, "0");
  let deleted = 0;
  for (const prefix of [keys.activityPrefix(), keys.deadDeliveryPrefix()]) {
    const listed = await bucketOf(store).list({ prefix, startAfter: `${prefix}${cutoff}~`, limit: n });
    const expired = listed.objects.map((o) => o.key);
    if (expired.length > 0) await bucketOf(store).delete(expired);
    deleted += expired.length;
  }
  return deleted;
}
