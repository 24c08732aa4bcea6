// What every collector stage is handed: the bucket, the rules, the clock, the allowance,
// and the step's tallies. A dry run decides exactly as a real run and writes nothing but
// its own cursor and the usage figures it measured (gc/usage.ts).
import type { GcConfig } from "../config";
import type { StoredObject } from "../storage/collector";
import type { Budget } from "./budget";
import type { Counts, GcState } from "./state";
import type { Storage } from "../storage/storage";

export interface GcContext {
  store: Storage;
  config: GcConfig;
  dryRun: boolean;
  now: () => number;
  /** Objects written at or after this instant are never collected in this step. */
  cutoff: number;
  budget: Budget;
  counts: Counts;
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

/** When an object was written or last linked: its stamp, else R2's upload time. */
export function writtenAt(object: StoredObject, stamp: "linkedAt" | "taggedAt" = "linkedAt"): number {
  const raw = object.customMetadata?.[stamp];
  return raw === undefined ? object.uploaded.getTime() : Number(raw);
}
