// Each collector step's report: logged, and kept under _gc/reports/ so it can be read back
// (GET /v2/_gc/reports). Keys sort newest first; the oldest beyond MAX_REPORTS are dropped.
import { listCollectorReports, putCollectorReport } from "../storage/collector-state";
import type { Usage } from "../storage/meter";
import type { Counts, GraceHeld } from "./state";
import type { Storage } from "../storage/storage";

export interface StepReport {
  id: string;
  cycle: string;
  trigger: "cron" | "manual";
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  /** Where the step stopped; "done" when it finished the cycle. */
  phase: string;
  cycleFinished: boolean;
  /** Storage calls this step made (subrequests), of every kind. */
  operations: number;
  /** The same calls by billing class (storage/meter.ts). */
  usage: Usage;
  /** What this step freed (or, in a dry run, would free). */
  freed: Counts;
  /** What it would have freed but kept because it was written within GC_GRACE_SECONDS. */
  heldByGrace: HeldByGrace;
  /** Totals of the cycle so far, this step included. */
  cycleTotals: Counts;
  /** Dry runs: what would be freed, at most 1000 entries. */
  items?: string[];
}

/** The grace's holdings as a report says them: counts and bytes (totals that name nothing,
 *  so every reader sees them), and ISO times from which they become collectable. */
export interface HeldByGrace {
  graceSeconds: number;
  tags: number;
  manifests: number;
  links: number;
  /** The manifests' bytes and those of the blobs their links hold. */
  bytes: number;
  firstCollectableAt: string | null;
  lastCollectableAt: string | null;
}

export function graceReport(held: GraceHeld, graceSeconds: number): HeldByGrace {
  const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());
  return {
    graceSeconds,
    tags: held.tags,
    manifests: held.manifests,
    links: held.links,
    bytes: held.bytes,
    firstCollectableAt: iso(held.firstCollectableAt),
    lastCollectableAt: iso(held.lastCollectableAt),
  };
}

const MAX_REPORTS = 200;
const INVERT = 10_000_000_000_000;

export async function saveReport(store: Storage, report: StepReport, startedAt: number): Promise<void> {
  const name = `${String(INVERT - startedAt).padStart(14, "0")}-${report.id}`;
  await putCollectorReport(store, name, report, MAX_REPORTS);
}

/** The newest `limit` reports, newest first. */
export function listReports(store: Storage, limit: number): Promise<StepReport[]> {
  return listCollectorReports<StepReport>(store, limit);
}

/** The repository a dry-run item names ("tags repo:tag", "manifests repo@digest",
 *  "links repo@digest"), or null for bucket-wide items (blob records, data objects), which
 *  name only digests and storage keys. Names hold neither ":" nor "@" (oci/reference.ts). */
function itemRepository(item: string): string | null {
  const space = item.indexOf(" ");
  const kind = item.slice(0, space);
  const rest = item.slice(space + 1);
  if (kind === "tags") return rest.slice(0, rest.indexOf(":"));
  if (kind === "manifests" || kind === "links") return rest.slice(0, rest.indexOf("@"));
  return null;
}

/** Who reads a report (an auth Identity fits): the repositories it may pull, and whether its
 *  rights are the same on every repository. */
export interface ReportReader {
  allows(repo: string, action: "pull"): boolean;
  everyRepository?: boolean;
}

/** The report as a caller may see it: dry-run items and the phase name only for the
 *  repositories it may pull. Items that name no repository (blob records, data objects) are
 *  bucket-wide: only a caller that may pull every repository sees them, since a digest is
 *  all a private blob's reader needs to ask for it. Counts stay: they are totals and name
 *  nothing. */
export function reportFor(report: StepReport, reader: ReportReader): StepReport {
  const visible = (repo: string | null) =>
    repo === null ? reader.everyRepository === true : reader.allows(repo, "pull");
  const phaseRepo = report.phase.startsWith("repositories:") ? report.phase.split(":")[1]! : null;
  const out: StepReport = {
    ...report,
    phase: phaseRepo === null || visible(phaseRepo) ? report.phase : "repositories",
  };
  if (report.items) out.items = report.items.filter((item) => visible(itemRepository(item)));
  return out;
}
