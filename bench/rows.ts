/**
 * One benchmark row = a generator, a target and repetitions of (warm-up, timed window). Around each
 * window the daemon's CPU time, the chain RPCs it made and its store's transactions are sampled, so
 * every figure is per call in steady state.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type H2loadTarget, measure, replyBytes, warmUp } from "./h2load.ts";
import { type LoadSpec, runLoadClient, type StreamPayment } from "./load-client.ts";
import { cpuMicros, peakRssMb, resetPeakRss, threadCpuMicros, threadCpuText } from "./proc.ts";
import { rpcDelta } from "./rpc-counter.ts";
import type { BenchDaemon, Stack } from "./stack.ts";
import { etcdRequests, sqliteRevision } from "./store-counters.ts";

export interface Timing {
  reps: number;
  warmupS: number;
  durationS: number;
  /** Scratch directory for spec files. */
  dir: string;
  log(line: string): void;
}

export interface RepResult {
  calls: number;
  callsPerS: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  errorSamples: string[];
  cpuUsPerCall?: number;
  /** CPU per call of each of the daemon's threads, user+system µs ("main 150+40, Heap Helper 20+1, …"). */
  threadCpu?: string;
  /** JSON-RPC requests the daemon sent to the chain during the window, by method. */
  chainRpcs?: Record<string, number>;
  /** Store transactions committed during the window (SQLite revisions, or etcd Txn requests). */
  storeTxns?: number;
  /** etcd requests during the window, by gRPC method. */
  storeRequests?: Record<string, number>;
}

export interface RowResult {
  name: string;
  concurrency: number;
  generator: string;
  daemon?: BenchDaemon["name"];
  reps: RepResult[];
  /** Peak RSS of the daemon over this row's repetitions (VmHWM reset before each when the kernel allows). */
  rssMb?: number;
  notes: string[];
}

interface WindowCounters {
  cpuUs: number;
  threads: ReturnType<typeof threadCpuMicros>;
  rpc: Record<string, number>;
  sqlite?: number;
  etcd?: Promise<Record<string, number>>;
}

/** Samples the daemon synchronously (no await between the window edge and the reading). */
function sampleDaemon(stack: Stack, daemon: BenchDaemon): WindowCounters {
  const counters: WindowCounters = {
    cpuUs: cpuMicros(daemon.process.pid),
    threads: threadCpuMicros(daemon.process.pid),
    rpc: stack.rpc.snapshot(),
  };
  if (daemon.sqliteFile) counters.sqlite = sqliteRevision(daemon.sqliteFile);
  if (daemon.name === "etcd") counters.etcd = etcdRequests(stack.etcd.endpoints[0] as string);
  return counters;
}

async function windowFigures(
  daemon: BenchDaemon,
  before: WindowCounters,
  after: WindowCounters,
  calls: number,
): Promise<Partial<RepResult>> {
  const out: Partial<RepResult> = {
    cpuUsPerCall: calls > 0 ? (after.cpuUs - before.cpuUs) / calls : Number.NaN,
    ...(calls > 0 ? { threadCpu: threadCpuText(before.threads, after.threads, calls) } : {}),
    chainRpcs: rpcDelta(before.rpc, after.rpc),
  };
  if (before.sqlite !== undefined && after.sqlite !== undefined) out.storeTxns = after.sqlite - before.sqlite;
  if (before.etcd && after.etcd) {
    const requests = rpcDelta(await before.etcd, await after.etcd);
    out.storeRequests = requests;
    out.storeTxns = requests.Txn ?? 0;
  }
  if (daemon.name === "passthrough") delete out.chainRpcs;
  return out;
}

/**
 * A row measured one repetition at a time, so run.ts can interleave repetitions across rows: on a shared
 * machine whose speed drifts over minutes, rows measured side by side keep their ratios.
 */
export interface Row {
  readonly result: RowResult;
  /** Warm-up and one timed window; the daemon's peak RSS is reset before and read after. */
  rep(): Promise<void>;
}

function peakTracker(daemon: BenchDaemon | undefined, result: RowResult) {
  let warned = false;
  return {
    reset() {
      if (daemon && !resetPeakRss(daemon.process.pid) && !warned) {
        warned = true;
        result.notes.push("peak RSS is the daemon's lifetime peak (clear_refs refused)");
      }
    },
    read() {
      if (daemon) result.rssMb = Math.max(result.rssMb ?? 0, peakRssMb(daemon.process.pid));
    },
  };
}

const logRep = (t: Timing, r: RowResult, rep: RepResult) =>
  t.log(
    `  ${r.name} #${r.reps.length}: ${Math.round(rep.callsPerS)} calls/s, p50 ${rep.p50Ms.toFixed(2)} ms, errors ${rep.errors}${rep.errorSamples.length ? ` (${rep.errorSamples[0]})` : ""}${rep.threadCpu ? `; CPU µs/call by thread: ${rep.threadCpu}` : ""}`,
  );

export interface H2loadRowOptions {
  name: string;
  target: H2loadTarget;
  daemon?: BenchDaemon;
  /** A real client's call that must succeed first (h2load cannot see gRPC statuses). */
  probe(): Promise<void>;
}

/** Probes the target and measures the size of a successful reply before any repetition. */
export async function h2loadRow(stack: Stack, t: Timing, o: H2loadRowOptions): Promise<Row> {
  await o.probe();
  const reply = await replyBytes(o.target);
  const streams = o.target.connections * o.target.streamsPerConnection;
  const result: RowResult = {
    name: o.name,
    concurrency: streams,
    generator: o.target.h1 ? "h2load --h1" : "h2load",
    ...(o.daemon ? { daemon: o.daemon.name } : {}),
    reps: [],
    notes: [],
  };
  const peak = peakTracker(o.daemon, result);
  return {
    result,
    async rep() {
      peak.reset();
      await warmUp(o.target, t.warmupS);
      const before = o.daemon ? sampleDaemon(stack, o.daemon) : undefined;
      const r = await measure(o.target, t.durationS, reply);
      const after = o.daemon ? sampleDaemon(stack, o.daemon) : undefined;
      peak.read();
      const rep: RepResult = {
        calls: r.done,
        callsPerS: r.callsPerS,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        errors: r.errors,
        errorSamples: [],
      };
      if (o.daemon && before && after) Object.assign(rep, await windowFigures(o.daemon, before, after, r.done));
      result.reps.push(rep);
      logRep(t, result, rep);
    },
  };
}

export interface ClientRowOptions {
  name: string;
  target: string;
  path: string;
  body: Uint8Array;
  streams: number;
  connections: number;
  daemon?: BenchDaemon;
  /** Pay every call from the stream's channel; `expectedRate()` (calls/s) sizes the pre-signed sequences. */
  paid?: { expectedRate(): number };
}

export function clientRow(stack: Stack, t: Timing, o: ClientRowOptions): Row {
  const result: RowResult = {
    name: o.name,
    concurrency: o.streams,
    generator: "ts client (node:http2)",
    ...(o.daemon ? { daemon: o.daemon.name } : {}),
    reps: [],
    notes: [],
  };
  const peak = peakTracker(o.daemon, result);
  const bodyBase64 = Buffer.from(o.body).toString("base64");
  return {
    result,
    async rep() {
      const spec: LoadSpec = {
        target: o.target,
        path: o.path,
        bodyBase64,
        connections: o.connections,
        streams: o.streams,
        warmupS: t.warmupS,
        durationS: t.durationS,
      };
      const daemon = o.daemon;
      if (o.paid && daemon) {
        // Sized from the fastest rate seen so far with 50% headroom; a stream that runs out is reported.
        const rate = Math.max(o.paid.expectedRate(), ...result.reps.map((r) => r.callsPerS), 100) * 1.5;
        const perStream = Math.ceil((rate * (t.warmupS + t.durationS)) / o.streams) + 50;
        const started = performance.now();
        spec.payments = Array.from({ length: o.streams }, (_, s): StreamPayment => {
          const channel = stack.channels[s];
          if (!channel) throw new Error(`Stream ${s} has no channel; open at least ${o.streams} channels`);
          const paid = daemon.paid[s] as number;
          return {
            channelId: channel.id.toString(),
            paidBefore: (stack.price * BigInt(paid)).toString(),
            price: stack.price.toString(),
            signatures: channel.payments.slice(paid, paid + perStream),
          };
        });
        t.log(
          `  pre-signed ${perStream} payments per channel (${o.streams} channels) in ${Math.round(performance.now() - started)} ms`,
        );
      }
      const specFile = join(t.dir, "load-spec.json");
      writeFileSync(specFile, JSON.stringify(spec));
      let before: WindowCounters | undefined;
      let after: WindowCounters | undefined;
      peak.reset();
      const r = await runLoadClient(specFile, {
        onWindowStart: () => {
          if (daemon) before = sampleDaemon(stack, daemon);
        },
        onWindowEnd: () => {
          if (daemon) after = sampleDaemon(stack, daemon);
        },
      });
      peak.read();
      if (o.paid && daemon) {
        for (const [s, n] of r.used.entries()) daemon.paid[s] = (daemon.paid[s] as number) + n;
      }
      if (r.exhausted > 0)
        result.notes.push(
          `rep ${result.reps.length + 1}: ${r.exhausted} streams ran out of pre-signed payments before the window ended`,
        );
      const rep: RepResult = {
        calls: r.calls,
        callsPerS: r.callsPerS,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        errors: r.errors,
        errorSamples: r.errorSamples,
      };
      if (daemon && before && after) Object.assign(rep, await windowFigures(daemon, before, after, r.calls));
      result.reps.push(rep);
      logRep(t, result, rep);
    },
  };
}
