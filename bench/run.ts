#!/usr/bin/env bun
/**
 * `npm run bench [-- --quick]`: what snetd adds to every call, side by side with a direct call, in one
 * run on loopback (issue 6). Ratios matter, not absolute numbers: these machines are shared and noisy.
 *
 * Rows (concurrency 50 unless noted): direct to the example service; through snetd with payments off
 * (h2load, and the TS client that calibrates the paid rows); gRPC-Web through snetd over h2c and over
 * HTTP/1.1; paid escrow calls with the embedded store and with etcd; GetChannelState; then the same
 * direct / passthrough / paid calls one at a time, for the latency a payment adds. An HTTP/JSON service
 * called directly and sold through snetd (service_type http), loaded and one at a time. Plus signer
 * recovery per second and daemon start to ready.
 *
 * `--quick` (CI smoke): one short repetition per row; exits non-zero when any row has errors, never on
 * speed. Writes bench/results/quick.json. A full run writes bench/results/latest.json and the generated
 * block of bench/RESULTS.md. `--profile` also runs the paid row against a daemon started from source
 * under Bun's CPU profiler and prints its hottest functions (`--profile-store etcd`: the etcd row).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { defaultRecovery, nobleRecovery } from "../src/crypto/native-recovery.ts";
import type { H2loadTarget } from "./h2load.ts";
import { httpDirectOf, httpRows } from "./http-rows.ts";
import { channelStateFrame, ECHO_PATH, echoRequestFrame, STATE_PATH } from "./messages.ts";
import { recoveriesPerSecond, startToReady } from "./micro.ts";
import { probeGrpc, probeGrpcWeb } from "./probes.ts";
import { profilePaidRow } from "./profile.ts";
import { type ReportRow, reportRows, table, targetTable, writeResultsMd } from "./report.ts";
import { clientRow, h2loadRow, type Row, type RowResult, type Timing } from "./rows.ts";
import { type Stack, signerRecoveryOf, startStack } from "./stack.ts";
import { median } from "./stats.ts";
import { checkTargets } from "./targets.ts";

const repoRoot = resolve(import.meta.dir, "..");
const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    concurrency: { type: "string", default: "50" },
    connections: { type: "string", default: "5" },
    reps: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    "no-build": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    "profile-store": { type: "string", default: "sqlite" },
    only: { type: "string", multiple: true },
  },
});

const quick = args.quick === true;
/** `--only "paid, etcd" --only "paid, etcd c=1"`: run just these rows (exact names); skips micro rows. */
const only = args.only && args.only.length > 0 ? new Set(args.only) : undefined;
// Paid rows size their pre-signed payments from the passthrough client's rate: when any row of a group is
// chosen, that group's passthrough client row runs too.
const selected = <T extends { result: { name: string } }>(rows: T[], baseline: string): T[] => {
  if (!only) return rows;
  const chosen = rows.filter((r) => only.has(r.result.name));
  return chosen.length === 0 ? [] : rows.filter((r) => only.has(r.result.name) || r.result.name === baseline);
};
const positive = (name: string, text: string | undefined, fallback: number) => {
  const n = text === undefined ? fallback : Number(text);
  if (!(n > 0)) throw new Error(`--${name} must be a positive number, got '${text}'`);
  return n;
};
const concurrency = positive("concurrency", args.concurrency, 50);
const connections = positive("connections", args.connections, 5);
if (concurrency % connections !== 0)
  throw new Error(`--concurrency ${concurrency} must be a multiple of --connections ${connections}`);
const log = (line: string) => console.error(line);
const scratch = mkdtempSync(join(tmpdir(), "snetd-bench-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
const loaded: Timing = {
  reps: positive("reps", args.reps, quick ? 1 : 3),
  durationS: positive("duration", args.duration, quick ? 2 : 8),
  warmupS: positive("warmup", args.warmup, quick ? 0.5 : 2),
  dir: scratch,
  log,
};
// One-at-a-time rows measure latency, not throughput; shorter windows give thousands of samples.
const single: Timing = { ...loaded, durationS: quick ? 1 : 3, warmupS: quick ? 0.5 : 1 };

function ensureTools(): void {
  const etcd = process.env.ETCD_BIN ?? Bun.which("etcd");
  if (Bun.which("h2load") && etcd) return;
  log("h2load or etcd is missing: running bench/setup.sh");
  const r = spawnSync("bash", [join(repoRoot, "bench/setup.sh")], { stdio: "inherit" });
  if (r.status !== 0 || !Bun.which("h2load"))
    throw new Error(
      "bench/setup.sh could not install nghttp2-client (h2load) and etcd-server; install them and run again",
    );
}

function build(): void {
  if (args["no-build"]) return;
  log("building dist/snetd");
  const r = spawnSync(process.execPath, [join(repoRoot, "build.ts")], {
    cwd: repoRoot,
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (r.status !== 0) throw new Error(`'bun build.ts' failed with exit code ${r.status}`);
}

const git = (gitArgs: string[]) => spawnSync("git", gitArgs, { cwd: repoRoot, encoding: "utf8" }).stdout?.trim() ?? "";

function machine(): string {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown CPU";
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  const h2load = spawnSync("h2load", ["--version"], { encoding: "utf8" }).stdout?.trim();
  const etcd = spawnSync(process.env.ETCD_BIN ?? "etcd", ["--version"], { encoding: "utf8" })
    .stdout?.split("\n")[0]
    ?.trim();
  return `${os.availableParallelism()} × ${cpu}, ${(memKb / 1024 / 1024).toFixed(1)} GiB RAM, Linux ${os.release()}, Bun ${Bun.version}, ${h2load}, ${etcd}`;
}

/** Runs every repetition of `rows` round-robin: repetition 1 of each row, then repetition 2, … */
async function interleaved(rows: Row[], reps: number): Promise<void> {
  for (let i = 0; i < reps; i++) {
    log(`repetition ${i + 1} of ${reps}`);
    for (const row of rows) await row.rep();
  }
}

async function measureRows(stack: Stack): Promise<RowResult[]> {
  const { world, daemons } = stack;
  const echoBody = echoRequestFrame(1024);
  const echoFile = join(scratch, "echo.bin");
  writeFileSync(echoFile, echoBody);
  const grpc = { "content-type": "application/grpc", te: "trailers" };
  const grpcWeb = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
  const h2 = (address: string, path: string, bodyFile: string, headers: Record<string, string>): H2loadTarget => ({
    url: `http://${address}${path}`,
    bodyFile,
    headers,
    connections,
    streamsPerConnection: concurrency / connections,
  });
  const { passthrough: pass, sqlite, etcd } = daemons;
  const channel = stack.channels[0];
  if (!channel) throw new Error("No channel was opened");
  // No transaction is sent during the run, so the head stays within GetChannelState's ±5 block window.
  const stateBody = channelStateFrame(world.deployment.mpe, channel.client.privateKey, channel.id, await world.head());
  const stateFile = join(scratch, "state.bin");
  writeFileSync(stateFile, stateBody);
  const medianRate = (row: Row) => () => median(row.result.reps.map((r) => r.callsPerS));

  const t = loaded;
  const client = { path: ECHO_PATH, body: echoBody, streams: concurrency, connections };
  const passClient = clientRow(stack, t, {
    name: "passthrough (ts client)",
    daemon: pass,
    target: pass.process.endpoint,
    ...client,
  });
  const paidRate = { expectedRate: medianRate(passClient) };
  const loadedRows: Row[] = [
    await h2loadRow(stack, t, {
      name: "direct",
      target: h2(world.echo.address, ECHO_PATH, echoFile, grpc),
      probe: () => probeGrpc(world.echo.address, ECHO_PATH, echoBody),
    }),
    await h2loadRow(stack, t, {
      name: "passthrough",
      daemon: pass,
      target: h2(pass.process.endpoint, ECHO_PATH, echoFile, grpc),
      probe: () => probeGrpc(pass.process.endpoint, ECHO_PATH, echoBody),
    }),
    passClient,
    clientRow(stack, t, {
      name: "paid, embedded store",
      daemon: sqlite,
      target: sqlite.process.endpoint,
      paid: paidRate,
      ...client,
    }),
    clientRow(stack, t, { name: "paid, etcd", daemon: etcd, target: etcd.process.endpoint, paid: paidRate, ...client }),
    await h2loadRow(stack, t, {
      name: "GetChannelState",
      daemon: sqlite,
      target: h2(sqlite.process.endpoint, STATE_PATH, stateFile, grpc),
      probe: () => probeGrpc(sqlite.process.endpoint, STATE_PATH, stateBody),
    }),
    await h2loadRow(stack, t, {
      name: "grpc-web (h2c)",
      daemon: pass,
      target: h2(pass.process.endpoint, ECHO_PATH, echoFile, grpcWeb),
      probe: () => probeGrpcWeb(pass.process.endpoint, ECHO_PATH, echoBody),
    }),
    await h2loadRow(stack, t, {
      name: "grpc-web (HTTP/1.1)",
      daemon: pass,
      // HTTP/1.1 has no multiplexing: one connection per concurrent call, as browsers would open.
      target: {
        ...h2(pass.process.endpoint, ECHO_PATH, echoFile, grpcWeb),
        h1: true,
        connections: concurrency,
        streamsPerConnection: 1,
      },
      probe: () => probeGrpcWeb(pass.process.endpoint, ECHO_PATH, echoBody),
    }),
    ...(await httpRows(stack, t, { streams: concurrency, connections, expectedRate: medianRate(passClient) })),
  ];
  const loadedRun = selected(loadedRows, "passthrough (ts client)");
  await interleaved(loadedRun, t.reps);

  const one = { path: ECHO_PATH, body: echoBody, streams: 1, connections: 1 };
  const s = single;
  const passOne = clientRow(stack, s, { name: "passthrough c=1", daemon: pass, target: pass.process.endpoint, ...one });
  const singleRows: Row[] = [
    clientRow(stack, s, { name: "direct c=1", target: world.echo.address, ...one }),
    passOne,
    clientRow(stack, s, {
      name: "paid, embedded store c=1",
      daemon: sqlite,
      target: sqlite.process.endpoint,
      paid: { expectedRate: medianRate(passOne) },
      ...one,
    }),
    clientRow(stack, s, {
      name: "paid, etcd c=1",
      daemon: etcd,
      target: etcd.process.endpoint,
      paid: { expectedRate: medianRate(passOne) },
      ...one,
    }),
    ...(await httpRows(stack, s, { streams: 1, connections: 1, expectedRate: medianRate(passOne) })),
  ];
  const singleRun = selected(singleRows, "passthrough c=1");
  if (singleRun.length > 0) log("one call at a time");
  await interleaved(singleRun, s.reps);
  return [...loadedRun, ...singleRun].map((r) => r.result);
}

async function microRows(stack: Stack): Promise<ReportRow[]> {
  const seconds = quick ? 0.2 : 1;
  const none = { p50_ms: null, p99_ms: null, cpu_us_per_call: null, rss_mb: null, ratio_to_direct: null, errors: 0 };
  const rows: ReportRow[] = [];
  for (const recovery of [defaultRecovery(), nobleRecovery]) {
    log(`micro: signer recovery (${recovery.name})`);
    rows.push({
      name: `signer recovery (${recovery.name})`,
      kind: "micro",
      calls_per_s: Math.round(recoveriesPerSecond(recovery, seconds)),
      ...none,
    });
  }
  const runs = quick ? 2 : 5;
  const binary = join(repoRoot, "dist/snetd");
  const configs = {
    "payments off": { service_endpoint: `http://${stack.world.echo.address}`, blockchain_enabled: false },
    // Straight to anvil: the start reads the Registry, IPFS metadata and opens a fresh SQLite file.
    "paid, embedded store": stack.world.daemonConfig({ block_cache_ms: 1000, log: { level: "info" } }),
  };
  for (const [label, config] of Object.entries(configs)) {
    log(`startup: ${label}`);
    const times = await startToReady(binary, config, runs);
    rows.push({
      name: `start to ready (${label})`,
      kind: "startup",
      calls_per_s: null,
      ...none,
      p50_ms: Math.round(median(times)),
      notes: [`${runs} runs: ${times.map((x) => Math.round(x)).join(", ")} ms`],
    });
  }
  return rows;
}

async function main(): Promise<number> {
  ensureTools();
  build();
  const started = Date.now();
  const stack = await startStack({ channels: concurrency, log });
  let rows: ReportRow[];
  let profile: string | undefined;
  const d = stack.daemons;
  const recovery = signerRecoveryOf(d.sqlite);
  const daemonsLine = `Daemons: dist/snetd; idle RSS ${[d.passthrough, d.sqlite, d.etcd, d.http].map((x) => `${x.name} ${x.idleRssMb?.toFixed(1)} MB`).join(", ")}; paid daemons recover signers with ${recovery}.`;
  try {
    const results = await measureRows(stack);
    rows = reportRows(results, (r) => httpDirectOf(r.name) ?? (r.concurrency === 1 ? "direct c=1" : "direct"));
    if (!only) rows.push(...(await microRows(stack)));
    if (args.profile)
      profile = await profilePaidRow(
        stack,
        { ...loaded, reps: 1 },
        {
          repoRoot,
          streams: concurrency,
          connections,
          expectedRate: rows.find((r) => r.name === "passthrough (ts client)")?.calls_per_s ?? 1000,
          store: args["profile-store"] === "etcd" ? "etcd" : "sqlite",
        },
      );
  } finally {
    await stack.stop();
  }

  const when = new Date().toISOString();
  const commit = `${git(["rev-parse", "--short=12", "HEAD"]) || "unknown"}${git(["status", "--porcelain", "--untracked-files=no"]) ? " (uncommitted changes)" : ""}`;
  const settings = `concurrency ${concurrency} over ${connections} connections; ${loaded.reps} repetitions of ${loaded.warmupS} s warm-up + ${loaded.durationS} s (c=1 rows: ${single.warmupS} s + ${single.durationS} s); medians reported, errors summed`;
  const body = [
    `Run ${when} on commit ${commit}, ${Math.round((Date.now() - started) / 1000)} s.`,
    `Machine: ${machine()}.`,
    `Settings: ${settings}.`,
    daemonsLine,
    "",
    table(rows),
    "",
    "### Targets",
    "",
    targetTable(checkTargets(rows)),
  ].join("\n");
  console.log(`\n${body}\n`);
  if (profile) console.log(profile);

  const resultsDir = join(repoRoot, "bench/results");
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, quick ? "quick.json" : only ? "only.json" : "latest.json"),
    `${JSON.stringify(rows, null, 2)}\n`,
  );
  if (!quick && !only) writeResultsMd(join(repoRoot, "bench/RESULTS.md"), body);

  const failing = rows.filter((r) => r.errors > 0 || (r.kind === "load" && !(r.calls_per_s && r.calls_per_s > 0)));
  for (const r of failing)
    console.error(
      `row "${r.name}" had ${r.errors} errors and ${r.calls_per_s ?? 0} calls/s${r.notes ? `: ${r.notes.join("; ")}` : ""}`,
    );
  return failing.length > 0 ? 1 : 0;
}

// Exit through process.exit so the kit's exit hooks kill anvil, etcd and the daemons.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
