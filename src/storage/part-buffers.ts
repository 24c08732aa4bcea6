// Where the blob-data writer's part buffers come from. A writer takes a buffer for the part
// it fills, and gives it back once that part is stored; at most `partsInFlight + 1` are out
// per writer at once. The default allocates a fresh buffer each time and lets the garbage
// collector have it back; a per-isolate pool (one set of buffers shared by the requests of an
// isolate, bounded so that 128 MB is never exceeded) plugs in here without changing a writer.

export interface PartBuffers {
  /** A buffer of exactly `size` bytes for one part. Its contents are undefined. */
  take(size: number): Uint8Array;
  /** The buffer is no longer used by the writer. */
  give(buffer: Uint8Array): void;
}

export const freshPartBuffers: PartBuffers = {
  take: (size) => new Uint8Array(size),
  give: () => {},
};
