// The isolate's memory budget for large buffers (README, "Known limits"). Workers give one
// isolate 128 MB shared by all its concurrent requests; these pools are per isolate (module
// scope), so their caps hold however many requests arrive:
//
//   upload part buffers   8 × UPLOAD_PART_SIZE (8 MiB)      = 64 MiB  (PART_POOL_BYTES)
//   request read buffers  8 × 1 MiB                         =  8 MiB  (READ_POOL_BYTES)
//
// Eight uploads at once each hold one part buffer and one read buffer; fewer uploads get up
// to PARTS_IN_FLIGHT + 1 part buffers each (registry/ingest.ts) and stream faster. A ninth
// upload waits until a buffer comes back. The rest of the 128 MB is V8's own heap, manifest
// bodies (4 MiB each at most), referrers pages (256 KiB) and the manifest cache (4 MiB).
import { BufferPool } from "./buffer-pool";

const MiB = 1024 * 1024;

/** Uploads the pools are sized for: more than docker's 5 parallel layer pushes. */
const CONCURRENT_UPLOADS = 8;
/** The largest part size the pool can give eight uploads at once. */
export const MAX_PART_SIZE = 8 * MiB;
/** R2's smallest multipart part (all but the last): a smaller UPLOAD_PART_SIZE would fail every
 *  multipart completion in production. */
export const MIN_PART_SIZE = 5 * MiB;
export const PART_POOL_BYTES = CONCURRENT_UPLOADS * MAX_PART_SIZE;
/** Bytes per read from a request body: big enough that JavaScript runs a few times per
 *  megabyte instead of once per network chunk. */
export const READ_BYTES = MiB;
const READ_POOL_BYTES = CONCURRENT_UPLOADS * READ_BYTES;

export const partBuffers = new BufferPool("upload part buffers", PART_POOL_BYTES);
export const readBuffers = new BufferPool("request read buffers", READ_POOL_BYTES);
