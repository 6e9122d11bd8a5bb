/**
 * What the benchmark reads about the daemon from /proc (Linux only): CPU time of the whole process (every
 * thread: utime + stime of /proc/<pid>/stat) and its peak resident set (VmHWM of /proc/<pid>/status).
 */

import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const clockTicks = (() => {
  // /proc times are in USER_HZ ticks; 100 on every common kernel, but ask rather than assume.
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number.parseInt(r.stdout ?? "", 10);
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/**
 * User and system CPU time, in microseconds, from a /proc stat file (a process's or one thread's). The
 * command name (field 2) may contain spaces and parentheses; the fields after the last ')' are fixed.
 */
function statTimes(path: string, stat: string): { user: number; system: number } {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const user = Number(rest[11]);
  const system = Number(rest[12]);
  if (!Number.isFinite(user) || !Number.isFinite(system))
    throw new Error(`Cannot parse '${path}', got '${stat.slice(0, 120)}'`);
  return { user: (user * 1_000_000) / clockTicks, system: (system * 1_000_000) / clockTicks };
}

/** User + system CPU time of the process so far, in microseconds (resolution 1/CLK_TCK s). */
export function cpuMicros(pid: number): number {
  const path = `/proc/${pid}/stat`;
  const t = statTimes(path, readFileSync(path, "utf8"));
  return t.user + t.system;
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

/** CPU time so far of each thread of the process, in microseconds, by thread name, user and system apart. */
export function threadCpuMicros(pid: number): Map<string, { user: number; system: number }> {
  const out = new Map<string, { user: number; system: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const path = `/proc/${pid}/task/${tid}/stat`;
    let stat: string;
    try {
      stat = readFileSync(path, "utf8");
    } catch {
      continue; // the thread ended between the listing and the read
    }
    // Threads of one name (JSC's heap helpers, say) are summed; the main thread is named after the process.
    const name = tid === String(pid) ? "main" : stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const t = statTimes(path, stat);
    const prev = out.get(name) ?? { user: 0, system: 0 };
    out.set(name, { user: prev.user + t.user, system: prev.system + t.system });
  }
  return out;
}

/** Per-call CPU of each thread between two `threadCpuMicros` readings, as "name user+sys µs" text. */
export function threadCpuText(
  before: Map<string, { user: number; system: number }>,
  after: Map<string, { user: number; system: number }>,
  calls: number,
): string {
  const parts: [string, number, number][] = [];
  for (const [name, a] of after) {
    const b = before.get(name) ?? { user: 0, system: 0 };
    const user = (a.user - b.user) / calls;
    const system = (a.system - b.system) / calls;
    if (user + system >= 1) parts.push([name, user, system]);
  }
  parts.sort((x, y) => y[1] + y[2] - (x[1] + x[2]));
  return parts.map(([n, u, s]) => `${n} ${Math.round(u)}+${Math.round(s)}`).join(", ");
}
