// What the collector keeps between steps, under _gc/: its cursor and working set (JSON, read
// and written whole), the live-data filter's bits, the lease that lets one step run at a
// time, and the step reports. The shapes are the collector's (src/gc/state.ts); this module
// only stores them.
import { keys } from "./keys";
import { listUnder } from "./list";
import type { Storage } from "./storage";
import { bucketOf } from "./bindings";

const stateKey = (dryRun: boolean) => (dryRun ? keys.gcDryRunState() : keys.gcState());
const filterKey = (dryRun: boolean) => keys.gcLiveData() + (dryRun ? "-dry-run" : "");
const JSON_TYPE = { httpMetadata: { contentType: "application/json" } };

export async function readCollectorState<T>(store: Storage, dryRun: boolean): Promise<T | null> {
  const object = await bucketOf(store).get(stateKey(dryRun));
  return object ? ((await object.json()) as T) : null;
}

export async function writeCollectorState(store: Storage, dryRun: boolean, state: unknown): Promise<void> {
  await bucketOf(store).put(stateKey(dryRun), JSON.stringify(state), JSON_TYPE);
}

export async function readLiveDataFilter(store: Storage, dryRun: boolean): Promise<Uint8Array | null> {
  const object = await bucketOf(store).get(filterKey(dryRun));
  return object ? new Uint8Array(await object.arrayBuffer()) : null;
}

export async function writeLiveDataFilter(store: Storage, dryRun: boolean, bits: Uint8Array): Promise<void> {
  await bucketOf(store).put(filterKey(dryRun), bits);
}

/** Takes the collector's lease unless a holder took it less than `leaseMs` ago; the write is
 *  conditional on what was read, so two steps starting together cannot both win. Returns
 *  the lease id, or null. */
export async function acquireCollectorLease(store: Storage, now: number, leaseMs: number): Promise<string | null> {
  const id = crypto.randomUUID();
  const current = await bucketOf(store).get(keys.gcLock());
  if (current) {
    const held = (await current.json()) as { at: number };
    if (now - held.at < leaseMs) return null;
  }
  const onlyIf = current ? { etagMatches: current.etag } : new Headers({ "If-None-Match": "*" });
  return (await bucketOf(store).put(keys.gcLock(), JSON.stringify({ id, at: now }), { onlyIf })) ? id : null;
}

/** Drops the lease if it is still the one `id` took. */
export async function releaseCollectorLease(store: Storage, id: string): Promise<void> {
  const current = await bucketOf(store).get(keys.gcLock());
  if (current && ((await current.json()) as { id: string }).id === id) await bucketOf(store).delete(keys.gcLock());
}

/** Stores a report under a name that sorts newest first, and drops all but the newest `keep`. */
export async function putCollectorReport(store: Storage, name: string, report: unknown, keep: number): Promise<void> {
  await bucketOf(store).put(keys.gcReport(name), JSON.stringify(report), JSON_TYPE);
  const old = await listUnder(store, { prefix: keys.gcReportPrefix(), limit: keep + 20, maxCalls: 1 });
  const surplus = old.objects.slice(keep).map((o) => o.object.key);
  if (surplus.length > 0) await bucketOf(store).delete(surplus);
}

/** The newest `limit` reports, newest first. */
export async function listCollectorReports<T>(store: Storage, limit: number): Promise<T[]> {
  const listed = await listUnder(store, { prefix: keys.gcReportPrefix(), limit, maxCalls: 1 });
  const bodies = await Promise.all(listed.objects.map((o) => bucketOf(store).get(o.object.key)));
  const reports = await Promise.all(bodies.map((b) => (b ? (b.json() as Promise<T>) : null)));
  return reports.filter((r): r is Awaited<T> => r !== null) as T[];
}
