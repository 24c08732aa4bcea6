// Where the blob-data writer's part buffers come from (storage/blob-data.ts). A writer takes
// a buffer when it has none spare, refills the buffers of parts already stored, and gives
// them all back when it settles or aborts: at most `partsInFlight + 1` per writer, however
// many parts it writes. The default allocates and lets the garbage collector have them back;
// a per-isolate pool (buffers shared by the requests of an isolate, bounded so that 128 MB is
// never exceeded) plugs in here without changing a writer.

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
