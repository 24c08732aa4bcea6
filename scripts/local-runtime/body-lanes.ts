// When request bodies may stream into workerd (scripts/local-runtime/front-door.ts relays them through this).
// workerd runs every request of the local runtime, and local R2 with them, on one thread. Ten
// uploads streaming at once keep that thread so busy that any other request waits seconds
// before the Worker even sees it; one that waited past workerd's 15 s header timeout was
// dropped (docs/local-runtime.md). Two rules keep other requests answered:
//
// - Lanes: at most `lanes` bodies stream at once; the others wait in the front door, unread.
//   A lane counts as busy only while bytes flow through it: a body that has not moved for
//   IDLE_MS gives its place to a waiting one, so a slow or stalled client never blocks the
//   rest. (The limit is soft: a stalled body that resumes streams again without asking.)
// - Answers first: while a request without a body waits for workerd's answer, streaming
//   bodies hold their next chunk, for at most HOLD_MS, and then flow for at least FLOW_MS
//   before they can be held again, so uploads keep at least half the time whatever the
//   other traffic. Response bodies (a big pull) are held the same way: a POST beside a
//   1 GiB pull and five uploads was still dropped after 15 s (502) while only the uploads
//   were held.
//
// Measured under CPU load (10 uploads of 24-33 MiB beside 50 manifest GETs, two busy loops
// on a 2-core machine): the slowest GET took 4.3-5.7 s with neither rule, 1.5-2.6 s with
// lanes only, 2.3-4.7 s with answers-first only, 0.6-1.2 s with both, and the ten uploads
// finished sooner with both. Production has no such thread: each request runs apart.

/** A body that has not moved this long gives its lane to a waiting one. */
export const IDLE_MS = 1000;
/** The longest a body chunk is held back for a request awaiting its answer. */
export const HOLD_MS = 300;
/** After a hold, bodies flow at least this long before they can be held again. */
export const FLOW_MS = 300;
/** While requests wait for a lane, how often idle lanes are looked for. */
const SWEEP_MS = 250;

export interface Lane {
  /** Awaited before each chunk is relayed: marks the lane busy, and holds the chunk while a
   *  request without a body awaits its answer (answers-first, above). */
  turn(): Promise<void>;
  /** The body is done, or failed: frees the lane. Safe to call more than once. */
  leave(): void;
}

interface Waiter {
  admit: (lane: Lane) => void;
  cancelled: boolean;
}

interface Streaming {
  lastByteAt: number;
  /** When this body last resumed after a hold. */
  flowingSince: number;
}

export class BodyLanes {
  private readonly streaming = new Set<Streaming>();
  private readonly waiting: Waiter[] = [];
  private sweep: NodeJS.Timeout | null = null;
  private answersAwaited = 0;
  /** Held chunks, released when the last awaited answer starts. */
  private held: (() => void)[] = [];

  /** `lanes`: how many bodies may stream at once; Infinity for no limit. */
  constructor(private readonly lanes: number) {}

  /** Bodies streaming now: they moved within IDLE_MS. */
  busy(now = Date.now()): number {
    let count = 0;
    for (const body of this.streaming) if (now - body.lastByteAt < IDLE_MS) count++;
    return count;
  }

  /** Waits for a lane, first come first served. `cancel()` withdraws one not yet admitted. */
  enter(): { admitted: Promise<Lane>; cancel(): void } {
    let waiter!: Waiter;
    const admitted = new Promise<Lane>((resolve) => {
      waiter = { admit: resolve, cancelled: false };
    });
    this.waiting.push(waiter);
    this.admit();
    return {
      admitted,
      cancel: () => {
        waiter.cancelled = true;
        this.admit();
      },
    };
  }

  /** A request without a body was sent to workerd; call the result once its answer starts
   *  (or it failed). Calling it more than once is safe. */
  awaitAnswer(): () => void {
    this.answersAwaited++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.answersAwaited--;
      if (this.answersAwaited === 0) for (const release of this.held.splice(0)) release();
    };
  }

  private open(): Lane {
    const body: Streaming = { lastByteAt: Date.now(), flowingSince: 0 };
    this.streaming.add(body);
    return {
      turn: () => this.holdForAnswers(body),
      leave: () => {
        if (this.streaming.delete(body)) this.admit();
      },
    };
  }

  /** A gate for one response body, awaited before each chunk is relayed to the client: the
   *  answers-first rule for what workerd sends. A big pull keeps workerd (and local R2 in it)
   *  as busy as an upload does; held for a moment, it stops, since the registry reads a blob
   *  at the client's pace. Takes no lane: responses are never queued, only paused. */
  answerGate(): () => Promise<void> {
    const body: Streaming = { lastByteAt: Date.now(), flowingSince: 0 };
    return () => this.holdForAnswers(body);
  }

  /** Holds `body`'s next chunk while a request without a body awaits its answer, for at most
   *  HOLD_MS, unless it resumed less than FLOW_MS ago. */
  private async holdForAnswers(body: Streaming): Promise<void> {
    body.lastByteAt = Date.now();
    if (this.answersAwaited === 0 || body.lastByteAt - body.flowingSince < FLOW_MS) return;
    await new Promise<void>((resolve) => {
      const release = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.held = this.held.filter((other) => other !== release);
        resolve();
      }, HOLD_MS);
      this.held.push(release);
    });
    body.flowingSince = Date.now();
    body.lastByteAt = body.flowingSince;
  }

  /** Admits waiters, oldest first, while fewer than `lanes` bodies stream. */
  private admit(): void {
    while (this.waiting.length > 0) {
      const next = this.waiting[0]!;
      if (next.cancelled) {
        this.waiting.shift();
        continue;
      }
      if (this.busy() >= this.lanes) break;
      this.waiting.shift();
      next.admit(this.open());
    }
    // While someone waits, look again now and then: a busy lane goes idle without an event.
    if (this.waiting.length > 0 && this.sweep === null) {
      this.sweep = setInterval(() => this.admit(), SWEEP_MS);
      this.sweep.unref();
    } else if (this.waiting.length === 0 && this.sweep !== null) {
      clearInterval(this.sweep);
      this.sweep = null;
    }
  }
}
