// One step of the garbage collector: takes the lease, resumes the cycle where the last step
// stopped (repositories from the catalog, then blob records, then data), spends at most
// GC_MAX_OPERATIONS, saves its cursor, and reports. The cron runs a step each time; a
// bucket of any size finishes over as many steps as it needs (docs/gc.md).
import type { Config } from "../config/config";
import { nextCatalogEntry } from "../storage/collector";
import type { Storage } from "../storage/storage";
import { DataKeyFilter } from "./bloom";
import { Budget } from "./budget";
import type { GcContext } from "./context";
import { sweepData, sweepRecords } from "./record-sweep";
import { graceReport, saveReport, type StepReport } from "./reports";
import { sweepRepository } from "./repository-sweep";
import { recordBucketUsage, recordRepositoryUsage } from "./usage";
import {
  acquireLease,
  emptyCounts,
  emptyGraceHeld,
  loadFilter,
  loadState,
  newState,
  releaseLease,
  saveFilter,
  saveState,
  type Counts,
  type GcState,
} from "./state";

/** Calls a step makes after its last phase: save the state and the filter, store the report
 *  and trim old ones (put, list, delete), release the lease (get, delete). */
const CLOSING_OPERATIONS = 7;

export interface StepOptions {
  trigger: "cron" | "manual";
  dryRun?: boolean;
  /** The collector's clock; tests move it forward to age what they pushed. */
  now?: () => number;
}

/** Picks the next repository from the catalog, or moves on to the records. */
async function nextRepository(ctx: GcContext): Promise<void> {
  const { state } = ctx;
  const name = await nextCatalogEntry(ctx.store, state.lastRepository);
  if (name === null) {
    state.phase = "records";
    state.cursor = null;
    return;
  }
  state.repository = { name, stage: "scan", cursor: null, tags: null, manifests: {} };
}

/** Runs phases until the cycle is done or the allowance is spent. Each sweep returns false
 *  only when it ran out of allowance, which ends the step. */
async function advance(ctx: GcContext, filter: () => Promise<DataKeyFilter>): Promise<void> {
  const { state } = ctx;
  while (state.phase !== "done" && ctx.budget.has(10)) {
    if (state.phase === "repositories") {
      if (!state.repository) {
        await nextRepository(ctx);
        continue;
      }
      if (!(await sweepRepository(ctx, state.repository))) return;
      await recordRepositoryUsage(ctx, state.repository);
      state.lastRepository = state.repository.name;
      state.repository = null;
    } else if (state.phase === "records") {
      if (!(await sweepRecords(ctx, await filter()))) return;
      await recordBucketUsage(ctx);
      state.phase = "data";
      state.cursor = null;
    } else {
      if (!(await sweepData(ctx, await filter()))) return;
      state.phase = "done";
    }
  }
}

function addCounts(into: Counts, more: Counts): void {
  for (const key of Object.keys(into) as (keyof Counts)[]) into[key] += more[key];
}

/** Runs one step on `store`, whose meter is the step's own: its count is the step's budget.
 *  Returns null when another step holds the lease. */
export async function runCollectorStep(
  store: Storage,
  registryConfig: Config,
  options: StepOptions,
): Promise<StepReport | null> {
  const config = registryConfig.gc;
  // The closing calls (cursor, filter, report, lease) come out of the same allowance.
  const budget = new Budget(store.meter, config.maxOperations - CLOSING_OPERATIONS);
  const now = options.now ?? Date.now;
  const dryRun = options.dryRun ?? false;
  const startedAt = now();
  const lease = await acquireLease(store, startedAt);
  if (!lease) return null;
  try {
    const loaded = await loadState(store, dryRun);
    const state: GcState = loaded && loaded.phase !== "done" ? loaded : newState(startedAt, dryRun);
    const ctx: GcContext = {
      store,
      config,
      immutableTags: registryConfig.immutableTags,
      dryRun,
      now,
      state,
      items: [],
      cutoff: startedAt - config.graceSeconds * 1000,
      budget,
      counts: emptyCounts(),
      held: emptyGraceHeld(),
    };
    let filter: DataKeyFilter | null = null;
    const getFilter = async () =>
      (filter ??= state.recordsScanStartedAt === null ? new DataKeyFilter() : await loadFilter(store, dryRun));
    await advance(ctx, getFilter);
    addCounts(state.totals, ctx.counts);
    await saveState(store, dryRun, state);
    if (filter) await saveFilter(store, dryRun, filter);
    const report: StepReport = {
      id: crypto.randomUUID(),
      cycle: state.cycle,
      trigger: options.trigger,
      dryRun,
      startedAt: new Date(startedAt).toISOString(),
      durationMs: now() - startedAt,
      phase: state.repository ? `repositories:${state.repository.name}:${state.repository.stage}` : state.phase,
      cycleFinished: state.phase === "done",
      operations: budget.used,
      usage: store.meter.usage(),
      freed: ctx.counts,
      heldByGrace: graceReport(ctx.held, config.graceSeconds),
      cycleTotals: state.totals,
      ...(dryRun ? { items: ctx.items } : {}),
    };
    console.log("gc step", JSON.stringify({ ...report, items: report.items?.length }));
    await saveReport(store, report, startedAt);
    return report;
  } finally {
    await releaseLease(store, lease);
  }
}
