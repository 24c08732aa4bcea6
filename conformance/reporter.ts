// Results of the conformance runner: named checks in four groups, printed as they finish,
// with a summary per group. A check passes when its function returns, fails when it throws.

export const GROUPS = ["pull", "push", "content discovery", "content management"] as const;
export type GroupName = (typeof GROUPS)[number];

export interface CheckResult {
  group: GroupName;
  name: string;
  ok: boolean;
  detail?: string;
}

export class Reporter {
  readonly results: CheckResult[] = [];

  constructor(private readonly print: (line: string) => void = (line) => console.log(line)) {}

  group(name: GroupName): Group {
    this.print(`\n== ${name}`);
    return new Group(name, this);
  }

  record(result: CheckResult): void {
    this.results.push(result);
    this.print(
      `${result.ok ? "  ok  " : "  FAIL"} ${result.name}${result.ok ? "" : `\n         ${result.detail ?? ""}`}`,
    );
  }

  failures(): CheckResult[] {
    return this.results.filter((r) => !r.ok);
  }

  summary(): Record<GroupName, { passed: number; failed: number }> {
    const out = Object.fromEntries(GROUPS.map((g) => [g, { passed: 0, failed: 0 }])) as Record<
      GroupName,
      { passed: number; failed: number }
    >;
    for (const r of this.results) out[r.group][r.ok ? "passed" : "failed"]++;
    return out;
  }

  printSummary(): void {
    this.print("\n== summary");
    for (const [group, counts] of Object.entries(this.summary())) {
      this.print(
        `  ${group.padEnd(20)} ${String(counts.passed).padStart(3)} passed  ${String(counts.failed).padStart(3)} failed`,
      );
    }
  }
}

export class Group {
  constructor(
    readonly name: GroupName,
    private readonly reporter: Reporter,
  ) {}

  /** Runs one check; returns whether it passed, so later steps can depend on it. */
  async check(name: string, fn: () => Promise<void> | void): Promise<boolean> {
    try {
      await fn();
      this.reporter.record({ group: this.name, name, ok: true });
      return true;
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      this.reporter.record({ group: this.name, name, ok: false, detail });
      return false;
    }
  }
}
