// A pool of reusable byte buffers with a fixed cap on the bytes it ever holds, shared by
// every request in the isolate. Workers give an isolate 128 MB for all its concurrent
// requests, so large buffers are budgeted per isolate, not per request: a request that finds
// the pool spent waits for a buffer (first come, first served) and never allocates past it.
// util/memory-budget.ts holds the isolate's pools and states the budget.

export interface PoolStats {
  /** Bytes of buffers that exist now, leased or free. */
  allocatedBytes: number;
  /** Bytes of buffers handed out and not yet given back. */
  leasedBytes: number;
  /** The most bytes the pool ever held at once. Never above capBytes. */
  highWaterBytes: number;
  /** Requests waiting for a buffer now. */
  waiting: number;
}

interface Waiter {
  size: number;
  /** When the waiter last looked; a waiter that stopped looking is dropped. */
  polledAt: number;
}

/**
 * Waiters poll on their own timer instead of being woken by a release: in Workers, a promise
 * one request resolves cannot resume another request ("Cannot perform I/O on behalf of a
 * different request"), and a request that only awaits such a promise is killed as hung.
 */
const POLL_MS = 5;
/** A waiter that has not looked for this long belongs to a request that is gone. */
const STALE_MS = 2000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class BufferPool {
  private allocated = 0;
  private leased = 0;
  private highWater = 0;
  private readonly free: Uint8Array[] = [];
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly name: string,
    readonly capBytes: number,
  ) {}

  /** A buffer of exactly `size` bytes (its contents are whatever the last user left). */
  async acquire(size: number): Promise<Uint8Array> {
    if (size > this.capBytes)
      throw new Error(`${this.name}: a ${size}-byte buffer exceeds the pool's cap of ${this.capBytes}`);
    // Behind anyone already waiting: a stream of small requests cannot starve a waiter.
    const ready = this.waiters.length === 0 ? this.take(size) : null;
    if (ready) return ready;
    const me: Waiter = { size, polledAt: Date.now() };
    this.waiters.push(me);
    for (;;) {
      await sleep(POLL_MS);
      me.polledAt = Date.now();
      while (this.waiters.length > 0 && this.waiters[0] !== me && me.polledAt - this.waiters[0]!.polledAt > STALE_MS)
        this.waiters.shift();
      if (!this.waiters.includes(me)) this.waiters.push(me); // dropped while this request was slow
      if (this.waiters[0] !== me) continue;
      const buffer = this.take(size);
      if (buffer) {
        this.waiters.shift();
        return buffer;
      }
    }
  }

  /** A buffer at once if one is free and nobody waits, else null. */
  tryAcquire(size: number): Uint8Array | null {
    return this.waiters.length === 0 && size <= this.capBytes ? this.take(size) : null;
  }

  /**
   * Gives back a buffer acquired with `size`; the first waiter takes it (or its bytes) when it
   * next looks.
   * A BYOB read moves the bytes to a new ArrayBuffer, so any view of it will do. A buffer a
   * cancelled read left detached is forgotten, and its bytes are free for a new one.
   */
  release(buffer: Uint8Array, size: number): void {
    this.leased -= size;
    if (buffer.buffer.byteLength === size) this.free.push(new Uint8Array(buffer.buffer, 0, size));
    else this.allocated -= size;
  }

  stats(): PoolStats {
    return {
      allocatedBytes: this.allocated,
      leasedBytes: this.leased,
      highWaterBytes: this.highWater,
      waiting: this.waiters.length,
    };
  }

  /** A free buffer of the size, else a new one within the cap (dropping free buffers of
   *  other sizes to make room), else null. */
  private take(size: number): Uint8Array | null {
    const index = this.free.findIndex((b) => b.byteLength === size);
    if (index >= 0) {
      this.leased += size;
      return this.free.splice(index, 1)[0]!;
    }
    while (this.allocated + size > this.capBytes && this.free.length > 0) {
      this.allocated -= this.free.pop()!.byteLength;
    }
    if (this.allocated + size > this.capBytes) return null;
    this.allocated += size;
    this.leased += size;
    this.highWater = Math.max(this.highWater, this.allocated);
    return new Uint8Array(size);
  }
}
