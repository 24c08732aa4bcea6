// CPU time of the local runtime's workerd processes, read from /proc (Linux; 0 elsewhere):
// the watchdog tells a spinning workerd from a stopped one by it, and the benchmark's costs
// measure the registry's CPU per MiB with it.
import { readdirSync, readFileSync } from "node:fs";

/** Which workerd processes count: by their parent, or by their process group. */
export type WorkerdOwner = { parent: number } | { group: number };

/** CPU seconds (utime + stime) used so far by the workerd processes `owner` names. */
export function workerdCpuSeconds(owner: WorkerdOwner): number {
  let total = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // After the command name: state, ppid, pgrp, ... utime (12th), stime (13th), in 1/100 s.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const owned = "parent" in owner ? Number(fields[1]) === owner.parent : Number(fields[2]) === owner.group;
      if (!owned || readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "workerd") continue;
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {}
  }
  return total;
}
