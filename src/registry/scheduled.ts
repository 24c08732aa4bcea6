// Housekeeping run by the cron trigger: expires abandoned upload sessions. Each run does a
// bounded amount of work and keeps a cursor in R2, so a bucket with many sessions is covered
// over several runs.
import { runCollectorStep } from "../gc/collector";
import type { Deps } from "../storage/deps";
import {
  deleteUploadObjects,
  nextSessionsToExpire,
  readUploadState,
  saveSessionCursor,
  writeUploadState,
} from "../storage/uploads";
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

export async function runScheduled(deps: Deps): Promise<void> {
  const { store, config } = deps;
  await expireUploads(deps);
  // One bounded garbage collection step per trigger, on a meter of its own; the cursor
  // carries the cycle on.
  if (config.gc.scheduled) await runCollectorStep(store.child(), config, { trigger: "cron" });
}
