// The local runtime's workerd processes and their CPU time, read from /proc (Linux; none
// elsewhere): the watchdog tells a spinning workerd from a stopped one by its CPU and sees one
// that exited, and the benchmark's costs measure the registry's CPU per MiB with it.
import { readdirSync, readFileSync } from "node:fs";

/** Which workerd processes count: by their parent, or by their process group. */
export type WorkerdOwner = { parent: number } | { group: number };

export interface WorkerdProcess {
  pid: number;
  /** utime + stime so far. */
  cpuSeconds: number;
}

/** The workerd processes `owner` names. */
export function workerdProcesses(owner: WorkerdOwner): WorkerdProcess[] {
  const found: WorkerdProcess[] = [];
  let pids: string[] = [];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {}
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // After the command name: state, ppid, pgrp, ... utime (12th), stime (13th), in 1/100 s.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const owned = "parent" in owner ? Number(fields[1]) === owner.parent : Number(fields[2]) === owner.group;
      if (!owned || readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "workerd") continue;
      found.push({ pid: Number(pid), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch {}
  }
  return found;
}

/** CPU seconds used so far by the workerd processes `owner` names. */
export function workerdCpuSeconds(owner: WorkerdOwner): number {
  return workerdProcesses(owner).reduce((total, p) => total + p.cpuSeconds, 0);
}
