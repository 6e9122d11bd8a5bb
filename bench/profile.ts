/**
 * `--profile`: the paid (embedded store) row once more, against a daemon started from source under Bun's
 * CPU profiler (`bun --cpu-prof --cpu-prof-md src/main.ts serve`), so hot functions carry src/ file and
 * line. (The compiled binary honours `BUN_OPTIONS=--cpu-prof-md` too, but its locations point into the
 * bundle.) The profile is written when the daemon exits on SIGTERM; both files are copied to
 * bench/results/ and the hottest functions are returned as text.
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon } from "../tests/kit/daemon.ts";
import { ECHO_PATH, echoRequestFrame } from "./messages.ts";
import { type Timing, clientRow } from "./rows.ts";
import type { BenchDaemon, Stack } from "./stack.ts";

export async function profilePaidRow(
  stack: Stack,
  t: Timing,
  o: { repoRoot: string; streams: number; connections: number; expectedRate: number },
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "snetd-bench-profile-"));
  try {
    const proc = await startDaemon({
      config: stack.paidConfig(),
      // 250 µs sampling: the default 1 ms gives too few samples in a window of a few seconds.
      command: [process.execPath, "--cpu-prof", "--cpu-prof-md", "--cpu-prof-interval=250", `--cpu-prof-dir=${dir}`, join(o.repoRoot, "src/main.ts")],
    });
    const daemon: BenchDaemon = {
      name: "sqlite",
      process: proc,
      paid: new Array<number>(stack.channels.length).fill(0),
      sqliteFile: join(proc.dir, "snetd-data", "snetd-state.sqlite"),
    };
    t.log("profile: paid, embedded store, daemon from source under --cpu-prof");
    let row;
    try {
      row = await clientRow(stack, t, {
        name: "paid, embedded store (profiled, from source)",
        daemon,
        target: proc.endpoint,
        path: ECHO_PATH,
        body: echoRequestFrame(1024),
        streams: o.streams,
        connections: o.connections,
        paid: { expectedRate: o.expectedRate },
      });
    } finally {
      await proc.stop();
    }
    const files = readdirSync(dir);
    const md = files.find((f) => f.endsWith(".md"));
    const json = files.find((f) => f.endsWith(".cpuprofile"));
    if (!md) return `profile: no profile was written in '${dir}'`;
    const out = join(o.repoRoot, "bench/results");
    copyFileSync(join(dir, md), join(out, "profile-paid.md"));
    if (json) copyFileSync(join(dir, json), join(out, "profile-paid.cpuprofile"));
    const text = readFileSync(join(dir, md), "utf8");
    const start = text.indexOf("## Hot Functions");
    const hot = text.slice(start, text.indexOf("\n## ", start + 3)).split("\n").slice(0, 34).join("\n");
    const rep = row.reps[0];
    return [
      `Profile of the paid row (${rep ? `${Math.round(rep.callsPerS)} calls/s under the profiler` : "no repetition"}), full: bench/results/profile-paid.md${json ? " and profile-paid.cpuprofile" : ""}`,
      "",
      hot,
    ].join("\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
