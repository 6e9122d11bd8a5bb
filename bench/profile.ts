/**
 * `--profile`: the paid (embedded store, or etcd with `--profile-store etcd`) row once more, against a daemon started from source under Bun's
 * CPU profiler (`bun --cpu-prof src/main.ts serve`), so hot functions carry src/ file and line. (The
 * compiled binary honours `BUN_OPTIONS=--cpu-prof` too, but its locations point into the bundle.) The
 * profile is written when the daemon exits on SIGTERM; it is copied to bench/results/ with a text
 * summary of the hottest functions (profile-paid.txt), which is also returned.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon } from "../tests/kit/daemon.ts";
import { ECHO_PATH, echoRequestFrame } from "./messages.ts";
import { clientRow, type Row, type Timing } from "./rows.ts";
import type { BenchDaemon, Stack } from "./stack.ts";

export async function profilePaidRow(
  stack: Stack,
  t: Timing,
  o: { repoRoot: string; streams: number; connections: number; expectedRate: number; store?: "sqlite" | "etcd" },
): Promise<string> {
  const etcd = o.store === "etcd";
  const storeName = etcd ? "etcd" : "embedded store";
  const fileBase = etcd ? "profile-paid-etcd" : "profile-paid";
  const dir = mkdtempSync(join(tmpdir(), "snetd-bench-profile-"));
  try {
    const proc = await startDaemon({
      config: etcd
        ? stack.paidConfig({
            payment_channel_storage_type: "etcd",
            payment_channel_storage_client: { endpoints: stack.etcd.endpoints },
          })
        : stack.paidConfig(),
      // 250 µs sampling: the default 1 ms gives too few samples in a window of a few seconds.
      command: [
        process.execPath,
        "--cpu-prof",
        "--cpu-prof-interval=250",
        `--cpu-prof-dir=${dir}`,
        join(o.repoRoot, "src/main.ts"),
      ],
    });
    // On etcd the profiled daemon shares the bench etcd daemon's records (same namespace): it continues
    // that daemon's payment sequences, and takes the channels' slots over from it.
    const daemon: BenchDaemon = etcd
      ? { name: "etcd", process: proc, paid: stack.daemons.etcd.paid }
      : {
          name: "sqlite",
          process: proc,
          paid: new Array<number>(stack.channels.length).fill(0),
          sqliteFile: join(proc.dir, "snetd-data", "snetd-state.sqlite"),
        };
    t.log(`profile: paid, ${storeName}, daemon from source under --cpu-prof`);
    let row: Row;
    try {
      row = clientRow(stack, t, {
        name: `paid, ${storeName} (profiled, from source)`,
        daemon,
        target: proc.endpoint,
        path: ECHO_PATH,
        body: echoRequestFrame(1024),
        streams: o.streams,
        connections: o.connections,
        paid: { expectedRate: () => o.expectedRate },
      });
      await row.rep();
    } finally {
      await proc.stop();
    }
    const json = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (!json) return `profile: no profile was written in '${dir}'`;
    const out = join(o.repoRoot, "bench/results");
    copyFileSync(join(dir, json), join(out, `${fileBase}.cpuprofile`));
    const rep = row.result.reps[0];
    const text = [
      `Profile of the paid row, ${storeName} (${rep ? `${Math.round(rep.callsPerS)} calls/s, ${Math.round(rep.cpuUsPerCall ?? Number.NaN)} µs CPU per call under the profiler` : "no repetition"}); open bench/results/${fileBase}.cpuprofile in Chrome DevTools or speedscope for the call tree`,
      hotFunctions(JSON.parse(readFileSync(join(dir, json), "utf8")) as CpuProfile),
    ].join("\n");
    writeFileSync(join(out, `${fileBase}.txt`), `${text}\n`);
    return text;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
}

/**
 * Shares of samples, self and inclusive (src/ only). Computed from the .cpuprofile rather than copied
 * from the Markdown summary, whose millisecond columns weight samples by wall-clock gaps.
 */
function hotFunctions(p: CpuProfile, top = 15): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (id: number) => {
    const f = (byId.get(id) as CpuProfile["nodes"][number]).callFrame;
    const where = f.url.replace(/^file:\/\//, "").replace(/^.*?\/(src|node_modules)\//, "$1/");
    return `${f.functionName || "(anonymous)"}${where ? ` ${where}${f.lineNumber >= 0 ? `:${f.lineNumber + 1}` : ""}` : ""}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const sample of p.samples) {
    self.set(label(sample), (self.get(label(sample)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) seen.add(label(id));
    for (const l of seen) inclusive.set(l, (inclusive.get(l) ?? 0) + 1);
  }
  const total = p.samples.length || 1;
  const list = (m: Map<string, number>, keep: (l: string) => boolean) =>
    [...m]
      .filter(([l]) => keep(l))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([l, n]) => `${((100 * n) / total).toFixed(1).padStart(5)}%  ${l}`);
  return [
    `${total} samples (daemon lifetime, start-up included). Self:`,
    ...list(self, () => true),
    "Inclusive, src/ only:",
    ...list(inclusive, (l) => l.includes(" src/")),
  ].join("\n");
}
