/**
 * What the benchmark reads about the daemon from /proc (Linux only): CPU time of the whole process (every
 * thread: utime + stime of /proc/<pid>/stat) and its peak resident set (VmHWM of /proc/<pid>/status).
 */

import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const clockTicks = (() => {
  // /proc times are in USER_HZ ticks; 100 on every common kernel, but ask rather than assume.
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number.parseInt(r.stdout ?? "", 10);
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** User + system CPU time of the process so far, in microseconds (resolution 1/CLK_TCK s). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces and parentheses; fields after the last ')' are fixed.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error(`Cannot parse '/proc/${pid}/stat', got '${stat.slice(0, 120)}'`);
  return ((utime + stime) * 1_000_000) / clockTicks;
}

/** Peak resident set size (VmHWM) in MiB since start or the last `resetPeakRss`. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`'/proc/${pid}/status' has no VmHWM line`);
  return Number(match[1]) / 1024;
}

/** Current resident set size (VmRSS) in MiB. */
export function rssMb(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/**
 * Resets VmHWM to the current RSS (proc(5): writing 5 to clear_refs), so each row reports its own peak
 * rather than the daemon's lifetime peak. False when the kernel refuses (then peaks are cumulative).
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}
