// Housekeeping run by the cron trigger: expires abandoned upload sessions. Each run does a
// bounded amount of work and keeps a cursor in R2, so a bucket with many sessions is covered
// over several runs.
import type { Config } from "../config";
import { runCollectorStep } from "../gc/collector";
import type { Storage } from "../storage/storage";
import { deleteUploadObjects, listUploadSessions, readUploadState, saveSessionCursor } from "../storage/uploads";
import { closeSession } from "./uploads";

const SESSIONS_PER_RUN = 200;

export interface ExpiryReport {
  scanned: number;
  expired: number;
  finished: boolean;
}

export async function expireUploads(store: Storage, config: Config, now = Date.now()): Promise<ExpiryReport> {
  const deps = { store, config };
  const page = await listUploadSessions(store, SESSIONS_PER_RUN);
  let expired = 0;
  for (const id of page.ids) {
    const versioned = await readUploadState(store, id);
    const age = versioned ? now - versioned.state.updatedAt : Infinity;
    if (age > config.uploadMaxAgeSeconds * 1000) {
      // A session without its state object is leftover tails: they go too.
      if (versioned) await closeSession(deps, versioned.state);
      else await deleteUploadObjects(store, id);
      expired++;
    }
  }
  await saveSessionCursor(store, page.next);
  const report = { scanned: page.ids.length, expired, finished: page.next === null };
  console.log("upload expiry", JSON.stringify(report));
  return report;
}

export async function runScheduled(store: Storage, config: Config): Promise<void> {
  await expireUploads(store, config);
  // One bounded garbage collection step per trigger, on a meter of its own; the cursor
  // carries the cycle on.
  if (config.gc.scheduled) await runCollectorStep(store.child(), config, { trigger: "cron" });
}
