// The local runtime's watchdog. workerd 1.20260426 (the one Miniflare 4.20260426 runs) can
// stop answering for good: its main thread spins in V8's garbage-collection sweeper
// (cppgc IncrementalSweepTask re-posting itself inside PumpMessageLoop, seen with gdb and
// perf on a CI run where a chunked push hung: 99 % CPU for an hour, no request answered, no
// JavaScript running). Nothing the Worker does can leave that loop, and production has no
// such thread (docs/local-runtime.md). So the runtime probes workerd through the front door,
// and when it neither answers for UNANSWERED_MS nor stops burning its CPU, restarts it,
// loudly: state is on disk, requests in flight are cut, and clients retry them as after any
// broken connection. A workerd that exited (it crashed, or was killed) is started again the
// same way; Miniflare itself never restarts one.
import { workerdCpuSeconds, workerdProcesses } from "./workerd-cpu";

/** A probe that has not answered for this long, with workerd busy all along, is a hang. */
export const UNANSWERED_MS = 60_000;
const PROBE_EVERY_MS = 5_000;
/** Share of one core workerd must have used while the probe waited: a spinning thread uses
 *  all of it; a runtime that is only slow (a 1 GiB pull beside uploads) answers in seconds. */
const BUSY_SHARE = 0.9;

export interface Watchdog {
  stop(): void;
}

/**
 * Probes workerd every PROBE_EVERY_MS with `probe` (resolves once workerd answers); calls
 * `restart` when a probe has waited UNANSWERED_MS while workerd used BUSY_SHARE of a core, or
 * when no workerd runs. Linux only (it reads /proc); elsewhere it never fires.
 */
export function watchWorkerd(
  probe: () => Promise<unknown>,
  restart: () => Promise<void>,
  say: (line: string) => void,
): Watchdog {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  /** Why workerd must be started again, or null while it answers (or only works hard). */
  const reasonToRestart = async (): Promise<string | null> => {
    if (workerdProcesses({ parent: process.pid }).length === 0)
      return "local runtime: workerd exited (its last lines are above); starting it again. Requests in flight were cut; clients retry them.\n";
    const startedAt = Date.now();
    const cpuAtStart = workerdCpuSeconds({ parent: process.pid });
    let answered = false;
    const answer = probe().then(
      () => (answered = true),
      () => (answered = true), // refused or reset: workerd is restarting, not spinning
    );
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([answer, new Promise((r) => (waited = setTimeout(r, UNANSWERED_MS).unref()))]);
    clearTimeout(waited);
    const busy = (workerdCpuSeconds({ parent: process.pid }) - cpuAtStart) / ((Date.now() - startedAt) / 1000);
    if (answered || busy < BUSY_SHARE) return null;
    return `local runtime: workerd answered nothing for ${UNANSWERED_MS / 1000} s while using ${Math.round(busy * 100)} % of a core (its garbage-collection sweeper loops; docs/local-runtime.md); restarting it. Requests in flight are cut; clients retry them.\n`;
  };
  const cycle = async () => {
    const reason = await reasonToRestart();
    if (stopped) return;
    if (reason) {
      say(reason);
      await restart().catch((error) => say(`local runtime: restarting workerd failed: ${error}\n`));
    }
    if (!stopped) timer = setTimeout(() => void cycle(), PROBE_EVERY_MS).unref();
  };
  if (process.platform !== "linux") return { stop() {} };
  timer = setTimeout(() => void cycle(), PROBE_EVERY_MS).unref();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
