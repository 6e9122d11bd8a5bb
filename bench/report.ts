/**
 * What a run prints and keeps: the per-row figures (median of the repetitions; errors summed; RSS the
 * peak), the table, bench/results/*.json, and the generated part of bench/RESULTS.md.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { RepResult, RowResult } from "./rows.ts";
import { median } from "./stats.ts";

/** One object per row of bench/results/latest.json; the first eight keys are the issue's contract. */
export interface ReportRow {
  name: string;
  calls_per_s: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  cpu_us_per_call: number | null;
  rss_mb: number | null;
  ratio_to_direct: number | null;
  errors: number;
  kind: "load" | "micro" | "startup";
  concurrency?: number;
  generator?: string;
  repetitions?: number;
  /** Chain JSON-RPC requests per call during the timed windows. */
  chain_rpcs_per_call?: number;
  chain_rpcs?: Record<string, number>;
  store_txns_per_call?: number;
  store_requests_per_call?: Record<string, number>;
  /** The daemon's CPU per call by thread, user+system µs, of the repetition nearest the median CPU. */
  cpu_by_thread?: string;
  notes?: string[];
}

/** The repetition whose CPU per call is nearest the median (its per-thread split then matches the table). */
function nearestMedianRep(reps: RepResult[]): RepResult | undefined {
  const mid = median(reps.map((x) => x.cpuUsPerCall ?? Number.NaN));
  if (!Number.isFinite(mid)) return undefined;
  return reps.reduce<RepResult | undefined>(
    (best, x) =>
      best === undefined || Math.abs((x.cpuUsPerCall ?? 0) - mid) < Math.abs((best.cpuUsPerCall ?? 0) - mid) ? x : best,
    undefined,
  );
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
const round = (x: number | null | undefined, digits: number) =>
  x === null || x === undefined ? null : Number(x.toFixed(digits));

function sumCounts(maps: (Record<string, number> | undefined)[]): Record<string, number> | undefined {
  if (maps.every((m) => m === undefined)) return undefined;
  const out: Record<string, number> = {};
  for (const m of maps) for (const [k, v] of Object.entries(m ?? {})) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** Collapses repetitions; `directOf` names the row each ratio is taken against. */
export function reportRows(results: RowResult[], directOf: (row: RowResult) => string | undefined): ReportRow[] {
  const callsPerS = new Map(results.map((r) => [r.name, median(r.reps.map((x) => x.callsPerS))]));
  return results.map((r) => {
    const calls = r.reps.reduce((n, x) => n + x.calls, 0);
    const direct = directOf(r);
    const base = direct ? callsPerS.get(direct) : undefined;
    const chain = sumCounts(r.reps.map((x) => x.chainRpcs));
    const storeRequests = sumCounts(r.reps.map((x) => x.storeRequests));
    const storeTxns = r.reps.some((x) => x.storeTxns !== undefined)
      ? r.reps.reduce((n, x) => n + (x.storeTxns ?? 0), 0)
      : undefined;
    const notes = [
      ...r.notes,
      ...[...new Set(r.reps.flatMap((x) => x.errorSamples))].slice(0, 3).map((e) => `error: ${e}`),
    ];
    const row: ReportRow = {
      name: r.name,
      calls_per_s: round(finite(callsPerS.get(r.name) as number), 1),
      p50_ms: round(finite(median(r.reps.map((x) => x.p50Ms))), 3),
      p99_ms: round(finite(median(r.reps.map((x) => x.p99Ms))), 3),
      cpu_us_per_call: round(finite(median(r.reps.map((x) => x.cpuUsPerCall ?? Number.NaN))), 1),
      rss_mb: round(r.rssMb, 1),
      ratio_to_direct: base ? round((callsPerS.get(r.name) as number) / base, 3) : null,
      errors: r.reps.reduce((n, x) => n + x.errors, 0),
      kind: "load",
      concurrency: r.concurrency,
      generator: r.generator,
      repetitions: r.reps.length,
    };
    const threads = nearestMedianRep(r.reps)?.threadCpu;
    if (threads) row.cpu_by_thread = threads;
    if (chain && calls > 0) {
      row.chain_rpcs = chain;
      row.chain_rpcs_per_call = round(Object.values(chain).reduce((a, b) => a + b, 0) / calls, 5) as number;
    }
    if (storeTxns !== undefined && calls > 0) row.store_txns_per_call = round(storeTxns / calls, 3) as number;
    if (storeRequests && calls > 0)
      row.store_requests_per_call = Object.fromEntries(
        Object.entries(storeRequests).map(([k, v]) => [k, round(v / calls, 3) as number]),
      );
    if (notes.length) row.notes = notes;
    return row;
  });
}

const cell = (x: number | null | undefined, digits: number) =>
  x === null || x === undefined ? "—" : x.toFixed(digits);

/** A Markdown table; also what goes to stdout. */
export function table(rows: ReportRow[]): string {
  const head = [
    "row",
    "conc.",
    "generator",
    "calls/s",
    "p50 ms",
    "p99 ms",
    "CPU µs/call",
    "RSS MB",
    "× direct",
    "chain RPC/call",
    "store txn/call",
    "errors",
  ];
  const lines = rows
    .filter((r) => r.kind === "load")
    .map((r) => [
      r.name,
      String(r.concurrency ?? ""),
      r.generator ?? "",
      cell(r.calls_per_s, 0),
      cell(r.p50_ms, 2),
      cell(r.p99_ms, 2),
      cell(r.cpu_us_per_call, 0),
      cell(r.rss_mb, 1),
      cell(r.ratio_to_direct, 2),
      r.chain_rpcs_per_call === undefined ? "—" : r.chain_rpcs_per_call.toFixed(4),
      r.store_txns_per_call === undefined ? "—" : r.store_txns_per_call.toFixed(2),
      String(r.errors),
    ]);
  const extra = rows
    .filter((r) => r.kind !== "load")
    .map((r) =>
      r.kind === "micro"
        ? `- ${r.name}: ${cell(r.calls_per_s, 0)} per second`
        : `- ${r.name}: median ${cell(r.p50_ms, 0)} ms (${(r.notes ?? []).join("; ")})`,
    );
  const threads = rows.filter((r) => r.kind === "load" && r.cpu_by_thread);
  const threadLines = threads.length
    ? [
        "",
        "Daemon CPU per call by thread, user+system µs (JSC's threads by their names; the repetition nearest the median):",
        "",
        ...threads.map((r) => `- ${r.name}: ${r.cpu_by_thread}`),
      ]
    : [];
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...lines.map((l) => `| ${l.join(" | ")} |`),
    "",
    ...extra,
    ...threadLines,
  ].join("\n");
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | undefined;
}

export function targetTable(checks: TargetCheck[]): string {
  return [
    "| target | measured | met |",
    "|---|---|---|",
    ...checks.map((c) => `| ${c.target} | ${c.measured} | ${c.met === undefined ? "n/a" : c.met ? "yes" : "**no**"} |`),
  ].join("\n");
}

const BEGIN = "<!-- bench:generated:begin -->";
const END = "<!-- bench:generated:end -->";

/** Replaces the generated block of RESULTS.md, keeping the hand-written discussion around it. */
export function writeResultsMd(path: string, generated: string): void {
  const block = `${BEGIN}\n${generated.trim()}\n${END}`;
  const current = existsSync(path) ? readFileSync(path, "utf8") : "";
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const next =
    start >= 0 && end > start
      ? current.slice(0, start) + block + current.slice(end + END.length)
      : `# Benchmark results\n\nProduced by \`npm run bench\` (bench/run.ts); the block between the markers is rewritten by every full run.\n\n${block}\n${current ? `\n${current}` : ""}`;
  writeFileSync(path, next);
}
