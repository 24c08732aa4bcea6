// The collector's allowance of storage operations for one step. Workers allow 1,000
// subrequests per invocation on the Free plan (10,000 paid); GC_MAX_OPERATIONS stays below, and
// every stage stops at a point it can resume from once the allowance is spent. What has been
// spent is read from the step's Meter, which counts every call storage makes, so no stage
// has to remember to declare its calls.
import type { Meter } from "../storage/meter";

export class Budget {
  constructor(
    private readonly meter: Meter,
    private readonly max: number,
  ) {}

  /** Operations made so far in this step (the lease and the cursor included). */
  get used(): number {
    return this.meter.subrequests;
  }

  remaining(): number {
    return this.max - this.used;
  }

  /** Whether `n` more operations fit. */
  has(n = 1): boolean {
    return this.used + n <= this.max;
  }
}
