// Deterministic bytes from a seed (xorshift32), so failures reproduce. Pure, so the workers
// tests (test/helpers.ts), the Node e2e tests and the conformance runner all import it.

export function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
