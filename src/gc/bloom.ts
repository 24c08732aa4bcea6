// A Bloom filter of the data keys that blob records point to, built while the collector
// walks _blobs/ and consulted when it walks _data/. A false positive only keeps an orphan a
// while longer; there are no false negatives, so a live data object is never judged orphaned.

const BITS = 1 << 21; // 256 KiB: about 1% false positives at 200,000 blobs
const HASHES = 5;

function fnv1a(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class DataKeyFilter {
  constructor(readonly bits: Uint8Array = new Uint8Array(BITS / 8)) {}

  private positions(key: string): number[] {
    const a = fnv1a(key, 0);
    const b = fnv1a(key, 0x9e3779b9) | 1;
    return Array.from({ length: HASHES }, (_, i) => ((a + Math.imul(i, b)) >>> 0) % BITS);
  }

  add(key: string): void {
    for (const p of this.positions(key)) this.bits[p >>> 3]! |= 1 << (p & 7);
  }

  mayContain(key: string): boolean {
    return this.positions(key).every((p) => (this.bits[p >>> 3]! & (1 << (p & 7))) !== 0);
  }
}
