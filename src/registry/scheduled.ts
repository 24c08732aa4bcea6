// Housekeeping run by the cron trigger: expires abandoned upload sessions and the activity
// log's old entries, and runs a collector step. Each run does a bounded amount of work and
// keeps a cursor in R2, so a bucket with many sessions is covered over several runs.
import { freeExpiredEvents } from "../events/retention";
import { runCollectorStep } from "../gc/collector";
import type { Deps } from "../storage/deps";
import { MAX_EXPIRED_PER_CALL } from "../storage/events";
import {
  deleteUploadObjects,
  nextSessionsToExpire,
  readUploadState,
  saveSessionCursor,
  writeUploadState,
} from "../storage/uploads";
import { emitCollected } from "./events";
import { LOCK_LEASE_MS } from "./upload-lock";
import { closeSession, type UploadState } from "./uploads";

const SESSIONS_PER_RUN = 200;

export interface ExpiryReport {
  scanned: number;
  expired: number;
  finished: boolean;
}

/** Whether a session is past `maxIdleMs` and no request is appending to it now. */
function idle(state: UploadState | undefined, now: number, maxIdleMs: number): boolean {
  if (!state) return true;
  if (state.lock && now - state.lock.at < LOCK_LEASE_MS) return false;
  return now - state.updatedAt > maxIdleMs;
}

export async function expireUploads(
  deps: Deps,
  now = Date.now(),
  maxIdleMs = deps.config.uploadMaxAgeSeconds * 1000,
): Promise<ExpiryReport> {
  const store = deps.store;
  const page = await nextSessionsToExpire(store, SESSIONS_PER_RUN);
  let expired = 0;
  for (const id of page.ids) {
    const versioned = await readUploadState(store, id);
    if (!idle(versioned?.state, now, maxIdleMs)) continue;
    if (versioned) {
      // Claim the session with the lock a PATCH would take, conditional on the state just read:
      // a request that locked it since that read wins, and keeps its session. Once claimed, a
      // PATCH finds the lock held and gets 416, never a session closed under it.
      const claimed = { ...versioned.state, lock: { id: `expiry-${crypto.randomUUID()}`, at: Date.now() } };
      if (!(await writeUploadState(store, claimed, versioned.etag))) continue;
      await closeSession(deps, claimed);
    } else {
      // A session without its state object is leftover tails: they go too.
      await deleteUploadObjects(store, id);
    }
    expired++;
  }
  await saveSessionCursor(store, page.next);
  const report = { scanned: page.ids.length, expired, finished: page.next === null };
  console.log("upload expiry", JSON.stringify(report));
  return report;
}

/** One expiry call per run (one listing and one delete call per log): a log that grew past
 *  it is caught up over the next runs. A failure is logged and the run goes on, so an
 *  activity log in trouble never holds the collector back. */
async function expireActivity(deps: Deps): Promise<void> {
  try {
    const freed = await freeExpiredEvents(deps, new Date(), MAX_EXPIRED_PER_CALL);
    if (freed > 0) console.log("activity expiry", JSON.stringify({ freed }));
  } catch (error) {
    console.error("activity expiry failed:", error instanceof Error ? error.message : error);
  }
}

export async function runScheduled(deps: Deps): Promise<void> {
  const { store, config } = deps;
  await expireUploads(deps);
  await expireActivity(deps);
  // One bounded garbage collection step per trigger, on a meter of its own; the cursor
  // carries the cycle on.
  if (!config.gc.scheduled) return;
  const report = await runCollectorStep(store.child(), config, { trigger: "cron" });
  if (report) emitCollected(deps, report);
}
