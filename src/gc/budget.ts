// The collector's allowance of R2 operations for one step. Workers allow 1000 subrequests per
// invocation (50 on the Free plan); GC_MAX_OPERATIONS stays below that, and every stage stops
// at a point it can resume from once the allowance is spent.

export class Budget {
  used = 0;
  constructor(private readonly max: number) {}

  /** Records `n` operations about to be made. */
  spend(n = 1): void {
    this.used += n;
  }

  remaining(): number {
    return this.max - this.used;
  }

  /** Whether `n` more operations fit. */
  has(n = 1): boolean {
    return this.used + n <= this.max;
  }
}
