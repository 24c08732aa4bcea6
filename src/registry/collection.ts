// Garbage collection as the routes ask for it: one step on demand, and the stored reports,
// each cut down to what the caller may see. The collector itself lives in src/gc/.
import type { Identity } from "./identity";
import { RegistryError } from "../errors";
import { runCollectorStep } from "../gc/collector";
import { listReports, reportFor, type StepReport } from "../gc/reports";
import type { Deps } from "../storage/deps";
import { expireUploads } from "./scheduled";

/** Runs one bounded step on a meter of its own (its budget), whose calls also count in the
 *  request's. TOOMANYREQUESTS while another step holds the lease. */
export async function collectOnce(deps: Deps, identity: Identity, dryRun: boolean): Promise<StepReport> {
  // GC_GRACE_SECONDS=0 (a local registry being cleaned by hand) judges everything at once, and
  // so do upload sessions: every session no request is appending to now is ended, freeing its
  // tails and multipart parts (one page of sessions per step, on the cron's cursor). A client
  // between two PATCHes loses its session then, as a blob pushed before its manifest loses its
  // bytes under grace 0 (docs/gc.md).
  if (!dryRun && deps.config.gc.graceSeconds === 0) await expireUploads(deps, Date.now(), 0);
  const report = await runCollectorStep(deps.store.child(), deps.config, { trigger: "manual", dryRun });
  if (!report)
    throw new RegistryError("TOOMANYREQUESTS", "a garbage collection step is already running; try again shortly");
  return reportFor(report, identity);
}

/** The newest `n` step reports, newest first, as the caller may see them. */
export async function collectionReports(deps: Deps, identity: Identity, n: number): Promise<StepReport[]> {
  const reports = await listReports(deps.store, n);
  return reports.map((r) => reportFor(r, identity));
}
