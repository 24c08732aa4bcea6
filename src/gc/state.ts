// What the collector keeps between steps, in R2 under _gc/: its cursor and working set, the
// data-key filter, and the lease that lets one step run at a time.
import {
  acquireCollectorLease,
  readCollectorState,
  readLiveDataFilter,
  releaseCollectorLease,
  writeCollectorState,
  writeLiveDataFilter,
} from "../storage/collector-state";
import { DataKeyFilter } from "./bloom";
import type { Storage } from "../storage/storage";

export interface ManifestNode {
  /** When the manifest was last pushed (linkedAt, else the object's upload time). */
  at: number;
  children: string[];
  subject: string | null;
  blobs: string[];
  size: number;
}

export interface TagNode {
  tag: string;
  digest: string;
  taggedAt: number;
}

export interface RepositoryWork {
  name: string;
  stage: "scan" | "manifests" | "links";
  cursor: string | null;
  tags: TagNode[] | null;
  manifests: Record<string, ManifestNode>;
  /** Bytes of the links the pass keeps, summed as it lists them (storage/usage.ts). */
  linkedBytes?: number;
  /** Unreached manifests kept only for the grace, digest → write time: the links only they
   *  mark are kept for the grace too, and counted as such. */
  heldManifests?: Record<string, number>;
}

export interface Counts {
  tags: number;
  manifests: number;
  links: number;
  blobs: number;
  data: number;
  bytesFreed: number;
}

/** What a step judged collectable but kept because it was written within GC_GRACE_SECONDS:
 *  counts, the bytes that would go with them, and the span of instants at which they become
 *  collectable (each one's write time plus the grace), as epoch milliseconds. */
export interface GraceHeld {
  tags: number;
  manifests: number;
  links: number;
  bytes: number;
  firstCollectableAt: number | null;
  lastCollectableAt: number | null;
}

export function emptyGraceHeld(): GraceHeld {
  return { tags: 0, manifests: 0, links: 0, bytes: 0, firstCollectableAt: null, lastCollectableAt: null };
}

export interface GcState {
  cycle: string;
  cycleStartedAt: number;
  phase: "repositories" | "records" | "data" | "done";
  lastRepository: string | null;
  repository: RepositoryWork | null;
  cursor: string | null;
  /** When the walk of _blobs/ that fills the data-key filter began. */
  recordsScanStartedAt: number | null;
  totals: Counts;
  /** Dry runs only: links the run would free, "digest repository", so the record walk can
   *  tell which blobs would lose their last link. */
  wouldFreeLinks?: string[];
  /** Bytes and count of the blob records the record walk has passed and kept so far. */
  storedBytes?: number;
  storedBlobs?: number;
}

export function emptyCounts(): Counts {
  return { tags: 0, manifests: 0, links: 0, blobs: 0, data: 0, bytesFreed: 0 };
}

export function newState(now: number, dryRun: boolean): GcState {
  return {
    cycle: `${now}-${crypto.randomUUID().slice(0, 8)}`,
    cycleStartedAt: now,
    phase: "repositories",
    lastRepository: null,
    repository: null,
    cursor: null,
    recordsScanStartedAt: null,
    totals: emptyCounts(),
    ...(dryRun ? { wouldFreeLinks: [] } : {}),
  };
}

export function loadState(store: Storage, dryRun: boolean): Promise<GcState | null> {
  return readCollectorState<GcState>(store, dryRun);
}

export function saveState(store: Storage, dryRun: boolean, state: GcState): Promise<void> {
  return writeCollectorState(store, dryRun, state);
}

export async function loadFilter(store: Storage, dryRun: boolean): Promise<DataKeyFilter> {
  const bits = await readLiveDataFilter(store, dryRun);
  return bits ? new DataKeyFilter(bits) : new DataKeyFilter();
}

export function saveFilter(store: Storage, dryRun: boolean, filter: DataKeyFilter): Promise<void> {
  return writeLiveDataFilter(store, dryRun, filter.bits);
}

/** A step holds the lease for at most this long; a step that died frees it by lapsing. */
const LEASE_MS = 5 * 60 * 1000;

/** Takes the collector's lease, or returns null while another step holds it. */
export function acquireLease(store: Storage, now: number): Promise<string | null> {
  return acquireCollectorLease(store, now, LEASE_MS);
}

export function releaseLease(store: Storage, id: string): Promise<void> {
  return releaseCollectorLease(store, id);
}
