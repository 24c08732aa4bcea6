// Chunk arithmetic for resumable uploads: how big each PATCH may be, where the registry says
// an upload stands, and how long to wait between retries. Pure, unit-tested.

/** The Free plan's request-body limit, used when the registry advertises nothing. */
export const DEFAULT_MAX_CHUNK = 100_000_000;

export interface ChunkLimits {
  /** OCI-Chunk-Max-Length from the registry, if it sent one. */
  advertisedMax: number | null;
  /** OCI-Chunk-Min-Length from the registry, if it sent one. */
  advertisedMin: number | null;
  /** --chunk-size, if given. */
  requested: number | null;
}

/** The chunk size to use: the user's choice capped by what the registry accepts. A chunk
 *  below the registry's minimum is raised to it, except the last chunk of a blob. */
export function chooseChunkSize(limits: ChunkLimits): number {
  const max = limits.advertisedMax ?? DEFAULT_MAX_CHUNK;
  let size = limits.requested === null ? max : Math.min(limits.requested, max);
  if (limits.advertisedMin !== null && size < limits.advertisedMin) size = Math.min(limits.advertisedMin, max);
  return Math.max(1, size);
}

export interface Chunk {
  start: number;
  /** Inclusive, as in Content-Range. */
  end: number;
}

/** The chunks that carry bytes [offset, size) of a blob. */
export function planChunks(offset: number, size: number, chunkSize: number): Chunk[] {
  if (chunkSize < 1) throw new Error("chunk size must be positive");
  const chunks: Chunk[] = [];
  for (let start = offset; start < size; start += chunkSize) {
    chunks.push({ start, end: Math.min(size, start + chunkSize) - 1 });
  }
  return chunks;
}

/** Reads the upload's Range header ("0-N", also "bytes=0-N") as the number of bytes the
 *  registry holds. "0-0" is ambiguous in the spec; registries send it for an empty upload
 *  too, so it is read as 0 unless `emptyMeansZero` is false. */
export function parseUploadRange(header: string | null | undefined, emptyMeansZero = true): number | null {
  if (header == null) return null;
  const match = /^\s*(?:bytes[ =])?\s*0-([0-9]+)\s*$/i.exec(header);
  if (!match) return null;
  const end = Number(match[1]);
  if (end === 0 && emptyMeansZero) return 0;
  return end + 1;
}

/** Exponential backoff with full jitter: attempt 1 waits up to base, then 2x, 4x... capped. */
export function backoffDelay(attempt: number, baseMs = 500, capMs = 15_000, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Parses "50MB", "64MiB", "1048576". */
export function parseByteSize(text: string): number | null {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return null;
  const unit = UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const value = Math.floor(Number(match[1]) * unit);
  return value > 0 ? value : null;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
