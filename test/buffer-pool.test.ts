// The isolate's buffer pool (util/buffer-pool.ts): never holds more than its cap, hands
// buffers back in arrival order, reuses what was released, and makes room for other sizes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BufferPool } from "../src/util/buffer-pool";

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("buffer pool", () => {
  it("makes a request wait when the cap is reached, and serves waiters first come first served", async () => {
    const pool = new BufferPool("test", 30);
    const a = await pool.acquire(10);
    const b = await pool.acquire(10);
    const c = await pool.acquire(10);
    const order: string[] = [];
    const d = pool.acquire(10).then((buffer) => {
      order.push("d");
      return buffer;
    });
    const e = pool.acquire(10).then((buffer) => {
      order.push("e");
      return buffer;
    });
    await tick();
    expect(order).toEqual([]);
    expect(pool.stats()).toEqual({ allocatedBytes: 30, leasedBytes: 30, highWaterBytes: 30, waiting: 2 });
    pool.release(b, 10);
    expect((await d).buffer).toBe(b.buffer); // the released buffer itself, not a new one
    pool.release(a, 10);
    await e;
    expect(order).toEqual(["d", "e"]);
    pool.release(c, 10);
    expect(pool.stats().highWaterBytes).toBe(30);
  });

  it("drops free buffers of another size to make room, within the cap", async () => {
    const pool = new BufferPool("test", 20);
    const small = await pool.acquire(5);
    pool.release(small, 5);
    const big = await pool.acquire(20);
    expect(big.byteLength).toBe(20);
    expect(pool.stats()).toEqual({ allocatedBytes: 20, leasedBytes: 20, highWaterBytes: 20, waiting: 0 });
  });

  it("forgets a buffer a cancelled read left detached, and frees its bytes", async () => {
    const pool = new BufferPool("test", 8);
    const buffer = await pool.acquire(8);
    structuredClone(buffer.buffer, { transfer: [buffer.buffer] });
    pool.release(buffer, 8);
    expect(pool.stats().allocatedBytes).toBe(0);
    expect((await pool.acquire(8)).byteLength).toBe(8);
  });

  it("refuses a buffer larger than the cap instead of waiting forever", async () => {
    await expect(new BufferPool("test", 10).acquire(11)).rejects.toThrow(/exceeds the pool's cap/);
  });

  it("keeps a buffer whose bytes a BYOB read moved to a new ArrayBuffer", async () => {
    const pool = new BufferPool("test", 8);
    const buffer = await pool.acquire(8);
    const moved = new Uint8Array(structuredClone(buffer.buffer, { transfer: [buffer.buffer] }), 2, 3); // the view a read returns
    pool.release(moved, 8);
    const again = await pool.acquire(8);
    expect(again.byteLength).toBe(8);
    expect(again.buffer).toBe(moved.buffer);
  });

  it("never holds more than its cap under any interleaving of sizes (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 })), {
          minLength: 1,
          maxLength: 40,
        }),
        async (steps) => {
          const pool = new BufferPool("test", 10);
          const held: Promise<Uint8Array>[] = [];
          for (const [size, hold] of steps) {
            held.push(
              pool.acquire(size).then(async (buffer) => {
                expect(buffer.byteLength).toBe(size);
                for (let i = 0; i < hold; i++) await tick();
                pool.release(buffer, size);
                return buffer;
              }),
            );
            expect(pool.stats().allocatedBytes).toBeLessThanOrEqual(10);
          }
          await Promise.all(held);
          expect(pool.stats().highWaterBytes).toBeLessThanOrEqual(10);
          expect(pool.stats().waiting).toBe(0);
          expect(pool.stats().leasedBytes).toBe(0);
        },
      ),
      { seed: 14, numRuns: 100 },
    );
  });
});
