// Deterministic benchmark payloads, generated as they are sent so a 5 GiB blob needs no disk
// or memory; each 1 MiB block differs from the others.
import { createHash } from "node:crypto";

export const MiB = 1024 * 1024;
const BLOCK = MiB;

function seededBlock(seed: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  let x = seed | 0 || 1;
  for (let i = 0; i < BLOCK; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeInt32LE(x, i);
  }
  return block;
}

const base = seededBlock(0x5eed);

/** Block `index` of the payload: the base block with the index stamped in. */
export function block(index: number): Buffer {
  const out = Buffer.from(base);
  out.writeUInt32LE(index, 0);
  out.writeUInt32LE((index ^ 0xa5a5a5a5) >>> 0, BLOCK - 4);
  return out;
}

/** Yields `size` bytes as blocks, starting at byte `from`. */
export function* payload(size: number, from = 0, to = size): Generator<Buffer> {
  let at = from;
  while (at < to) {
    const index = Math.floor(at / BLOCK);
    const start = at - index * BLOCK;
    const end = Math.min(BLOCK, to - index * BLOCK);
    yield block(index).subarray(start, end);
    at += end - start;
  }
}

export function payloadDigest(size: number): string {
  const hash = createHash("sha256");
  for (const piece of payload(size)) hash.update(piece);
  return `sha256:${hash.digest("hex")}`;
}
