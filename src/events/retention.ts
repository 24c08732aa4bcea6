// The activity log's expiry, for the collector's cron run to call: frees the entries (events
// and dead deliveries) older than EVENTS_RETENTION_DAYS, at most `max` of each per call.
import type { Deps } from "../storage/deps";
import { deleteExpiredEvents } from "../storage/events";

const DAY_MS = 24 * 3600 * 1000;

/** Returns how many entries went; when it returns `max` or more, more may be waiting. With
 *  EVENTS_RETENTION_DAYS=0 nothing is logged, and whatever an earlier setting kept is freed. */
export function freeExpiredEvents(deps: Deps, now: Date, max: number): Promise<number> {
  return deleteExpiredEvents(deps.store, now.getTime() - deps.config.events.retentionDays * DAY_MS, max);
}
