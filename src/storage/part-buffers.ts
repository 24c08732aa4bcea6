// Where the blob-data writer's part buffers come from (storage/blob-data.ts). A writer takes
// a buffer when it has none spare, refills the buffers of parts already stored, and gives
// them all back when it settles or aborts: at most `partsInFlight + 1` per writer, however
// many parts it writes. They come from the isolate's pool (util/memory-budget.ts), shared by
// every request of the isolate and capped so that 128 MB is never exceeded: a writer that
// finds the pool spent waits for a buffer.
import { partBuffers } from "../util/memory-budget";

export interface PartBuffers {
  /** A buffer of exactly `size` bytes for one part, once one is free. Contents undefined. */
  take(size: number): Promise<Uint8Array>;
  /** A buffer at once, or null when the pool has none free. */
  tryTake(size: number): Uint8Array | null;
  /** The buffer (taken with `size`) is no longer used by the writer. */
  give(buffer: Uint8Array, size: number): void;
}

export const isolatePartBuffers: PartBuffers = {
  take: (size) => partBuffers.acquire(size),
  tryTake: (size) => partBuffers.tryAcquire(size),
  give: (buffer, size) => partBuffers.release(buffer, size),
};
