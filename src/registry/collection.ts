// Garbage collection as the routes ask for it: one step on demand, and the stored reports,
// each cut down to what the caller may see. The collector itself lives in src/gc/.
import { hasAdminRight, type Identity } from "./identity";
import { RegistryError } from "../errors";
import { runCollectorStep } from "../gc/collector";
import { listReports, reportFor, type HeldByGrace, type StepReport } from "../gc/reports";
import type { Deps } from "../storage/deps";
import {
  getBucketUsage,
  getRepositoryUsage,
  listRepositoryUsage,
  type BucketUsage,
  type RepositoryUsage,
} from "../storage/usage";
import { emitCollected } from "./events";
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
  emitCollected(deps, report);
  return reportFor(report, identity);
}

/** The newest `n` step reports, newest first, as the caller may see them. */
export async function collectionReports(deps: Deps, identity: Identity, n: number): Promise<StepReport[]> {
  const reports = await listReports(deps.store, n);
  return reports.map((r) => reportFor(r, identity));
}

export type { BucketUsage, HeldByGrace, RepositoryUsage, StepReport };

/** The usage figures the collector's last pass measured for `repo`; null before any pass. */
export function repositoryUsage(deps: Deps, repo: string): Promise<RepositoryUsage | null> {
  return getRepositoryUsage(deps.store, repo);
}

/** Step reports one view of the collector shows (the web UI's storage page). */
export const VIEW_REPORTS = 10;
/** Repositories whose usage one view lists: one storage list call. */
const VIEW_USAGE_ROWS = 1000;

export interface StorageOverview {
  /** Bucket-wide figures: for admins only, null for others. */
  bucket: BucketUsage | null;
  /** The repositories the caller may pull, largest first. */
  repositories: { name: string; usage: RepositoryUsage }[];
  moreRepositories: boolean;
  /** The newest VIEW_REPORTS step reports as the caller may see them: for admins only. */
  reports: StepReport[] | null;
}

/** What the collector measured, as `identity` may see it: bucket-wide figures and the step
 *  reports for admins, and the usage of the repositories it may pull, from the figures the
 *  collector kept (no view walks the bucket). */
export async function storageOverview(deps: Deps, identity: Identity): Promise<StorageOverview> {
  const admin = hasAdminRight(identity);
  const [bucket, usage, reports] = await Promise.all([
    admin ? getBucketUsage(deps.store) : Promise.resolve(null),
    listRepositoryUsage(deps.store, null, VIEW_USAGE_ROWS),
    admin ? collectionReports(deps, identity, VIEW_REPORTS) : Promise.resolve(null),
  ]);
  const repositories = [...usage]
    .filter(([name]) => identity.allows(name, "pull"))
    .map(([name, u]) => ({ name, usage: u }))
    .sort((a, b) => (b.usage.bytes ?? 0) - (a.usage.bytes ?? 0));
  return { bucket, repositories, moreRepositories: usage.size >= VIEW_USAGE_ROWS, reports };
}
