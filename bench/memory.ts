// Peak resident memory (VmHWM) of the workerd processes in a wrangler process group. Each
// scenario runs on a fresh server, so the high-water mark belongs to that scenario alone.
import { readdirSync, readFileSync } from "node:fs";

function processGroup(pid: string): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[2]);
  } catch {
    return null;
  }
}

function statusField(pid: string, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Largest VmHWM among workerd processes of group `pgid`, in bytes. */
export function workerdPeakRss(pgid: number): number {
  return largestAmongWorkerd(pgid, "VmHWM");
}

/** Largest resident memory now (VmRSS) among workerd processes of group `pgid`, in bytes. */
export function workerdRss(pgid: number): number {
  return largestAmongWorkerd(pgid, "VmRSS");
}

function largestAmongWorkerd(pgid: number, field: "VmHWM" | "VmRSS"): number {
  let peak = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    if (processGroup(pid) !== pgid) continue;
    let comm = "";
    try {
      comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      continue;
    }
    if (comm === "workerd") peak = Math.max(peak, statusField(pid, field));
  }
  return peak;
}
