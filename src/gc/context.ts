// What every collector stage is handed: the bucket, the rules, the clock, the allowance,
// and the step's tallies. A dry run decides exactly as a real run and writes nothing but
// its own cursor and the usage figures it measured (gc/usage.ts).
import type { GcConfig } from "../config/config";
import type { ImmutableTagRule } from "../config/immutable-tags";
import type { Budget } from "./budget";
import type { Counts, GcState, GraceHeld } from "./state";
import type { Storage } from "../storage/storage";

export interface GcContext {
  store: Storage;
  config: GcConfig;
  /** Tags that never go (IMMUTABLE_TAGS_JSON): retention passes them by. */
  immutableTags: readonly ImmutableTagRule[];
  dryRun: boolean;
  now: () => number;
  /** Objects written at or after this instant are never collected in this step. */
  cutoff: number;
  budget: Budget;
  counts: Counts;
  /** What this step kept only because of the grace (reports.ts: heldByGrace). */
  held: GraceHeld;
  state: GcState;
  /** What a dry run would free (capped), e.g. "manifest repo@sha256:…". */
  items: string[];
}

const MAX_ITEMS = 1000;

export function noteFreed(ctx: GcContext, kind: keyof Omit<Counts, "bytesFreed">, item: string, bytes = 0): void {
  ctx.counts[kind]++;
  ctx.counts.bytesFreed += bytes;
  if (ctx.items.length < MAX_ITEMS) ctx.items.push(`${kind} ${item}${bytes ? ` (${bytes} bytes)` : ""}`);
}

/** Counts something the rules would free but the grace keeps; `at` is when it was written. */
export function noteHeld(ctx: GcContext, kind: "tags" | "manifests" | "links", at: number, bytes = 0): void {
  ctx.held[kind]++;
  ctx.held.bytes += bytes;
  const collectable = at + ctx.config.graceSeconds * 1000;
  ctx.held.firstCollectableAt = Math.min(ctx.held.firstCollectableAt ?? collectable, collectable);
  ctx.held.lastCollectableAt = Math.max(ctx.held.lastCollectableAt ?? collectable, collectable);
}
