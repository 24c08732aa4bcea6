// Repository links as the blob read path last saw them, kept in the isolate so that a warm
// pull's link checks cost no R2 operation (storage/blobs.ts getServedBlobLink). Only links
// that exist are kept, so a push is seen at once; any delete this isolate makes through
// storage (a blob DELETE, a manifest delete, the collector) forgets them all, so in one
// isolate a delete is seen at once too. Another isolate's delete is seen within
// LINK_CACHE_MS: the staleness bound (docs/delivery.md). Bounded: MAX_LINKS entries.

export const LINK_CACHE_MS = 60_000;
const MAX_LINKS = 10_000;

/** Bumped by every delete: entries from before it are void, and a read that began before it
 *  must not remember what it saw. */
let generation = 0;

/** Called for every R2 delete this isolate makes (storage/metered.ts). */
export function forgetLinks(): void {
  generation++;
}

interface Remembered<T> {
  record: T;
  at: number;
  generation: number;
}

export class LinkCache<T> {
  private readonly entries = new Map<string, Remembered<T>>();

  /** What the cache's state is now: pass it to remember() after the read it precedes. */
  generation(): number {
    return generation;
  }

  recall(key: string, now = Date.now()): T | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.generation !== generation || now - entry.at >= LINK_CACHE_MS) {
      this.entries.delete(key);
      return null;
    }
    return entry.record;
  }

  /** Keeps a link read when the cache was at `seenGeneration`, unless a delete came since. */
  remember(key: string, record: T, seenGeneration: number): void {
    if (seenGeneration !== generation) return;
    this.entries.delete(key);
    this.entries.set(key, { record, at: Date.now(), generation });
    // Insertion order is age order: the oldest goes first.
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= MAX_LINKS) break;
      this.entries.delete(oldest);
    }
  }
}
