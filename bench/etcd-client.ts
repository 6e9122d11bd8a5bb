/**
 * `bun bench/etcd-client.ts [--rounds 2] [--seq 5000] [--conc 20000]`: the etcd store's own client
 * (src/store/etcd-client.ts over node:http2) against the npm `etcd3` library (grpc-js) that it replaced,
 * measured in the same run on one single-member etcd from tests/kit/etcd.ts.
 *
 * Each client runs in its own child process, so its CPU time (/proc, every thread) and resident memory are
 * its own. Rows: Range (a store `get`) and Txn (a store `commit`: one compare on mod revision and one put of
 * a ~300-byte record), sequential and 50 in flight. etcd3 is called as the old store called it (deadline
 * option, the store's one-deadline wrapper, a fail-over policy that resends only what was never sent). A
 * third child opens no client. Every child first loads what the daemon loads anyway (node:http2 and
 * protobuf-es with the daemon's own generated services), so the memory rows show what a client adds to a
 * daemon. etcd3 is not a dependency of the project any more: it is installed once, on demand, with npm
 * into a temporary directory.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEtcd } from "../tests/kit/etcd.ts";
import { cpuMicros, peakRssMb, rssMb } from "./proc.ts";

type Kind = "snetd" | "etcd3" | "none";
interface Ops {
  get(key: string): Promise<unknown>;
  commit(key: string, value: string): Promise<unknown>;
}
interface RowResult {
  perSecond: number;
  cpuUsPerRequest: number;
  /** CPU of the etcd process per request in the same window: what the client's way of sending costs etcd. */
  etcdUsPerRequest: number;
}
interface ChildReport {
  kind: Kind;
  rows: Record<string, RowResult>;
  rssOpenMb: number;
  rssAfterMb: number;
  peakRssMb: number;
}

const ETCD3_VERSION = "1.1.2";
const CONCURRENCY = 50;
/** Requests before the measured rows: JIT and connection state settle (fewer leave the first row slower). */
const WARM_UP = 10_000;
const RECORD = JSON.stringify({
  v: 1,
  nonce: "0",
  amount: "123456789012345678",
  signature: "ab".repeat(65),
  expiration: "99999999",
  signer: `0x${"cd".repeat(20)}`,
});

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

/** The directory holding node_modules/etcd3, installed on first use. */
function etcd3Dir(): string {
  const dir = join(tmpdir(), `snetd-bench-etcd3-${ETCD3_VERSION}`);
  if (!existsSync(join(dir, "node_modules", "etcd3", "package.json"))) {
    mkdirSync(dir, { recursive: true });
    console.log(`installing etcd3@${ETCD3_VERSION} into ${dir} (once)`);
    const r = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--prefix", dir, `etcd3@${ETCD3_VERSION}`], {
      stdio: "inherit",
    });
    if (r.status !== 0) throw new Error(`npm could not install etcd3@${ETCD3_VERSION} into "${dir}"`);
  }
  return dir;
}

/** etcd3 as src/store/etcd.ts used it before this client: deadline option, one-deadline race, resend-if-unsent policy. */
async function etcd3Ops(endpoint: string, dir: string): Promise<Ops & { close(): void }> {
  // Typed here: etcd3 is not a dependency, so its declarations are not there for the type checker.
  type Call = (request: object, options: { deadline: Date }) => Promise<unknown>;
  type Etcd3 = { kv: { range: Call; txn: Call }; maintenance: { status(): Promise<unknown> }; close(): void };
  const { Etcd3 } = (await import(join(dir, "node_modules", "etcd3", "lib", "index.js"))) as {
    Etcd3: new (options: object) => Etcd3;
  };
  const policy = {
    async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
      return await fn({ signal: new AbortController().signal });
    },
  };
  const client = new Etcd3({
    hosts: [endpoint],
    grpcOptions: { "grpc.keepalive_time_ms": 10_000, "grpc.keepalive_timeout_ms": 3_000 },
    // etcd3 only calls `execute` of the policy (as the old store's failoverPolicy did).
    faultHandling: { global: policy },
  });
  const bounded = async <T>(fn: (deadline: Date) => Promise<T>): Promise<T> => {
    const deadline = new Date(Date.now() + 3000);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("deadline")), 3250);
    });
    try {
      return await Promise.race([fn(deadline), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
  await client.maintenance.status();
  const ns = "bench/etcd3/";
  return {
    get: (key) => bounded((deadline) => client.kv.range({ key: Buffer.from(ns + key) }, { deadline })),
    commit: (key, value) =>
      bounded((deadline) =>
        client.kv.txn(
          {
            compare: [{ key: Buffer.from(`${ns}absent`), target: "Mod", result: "Equal", mod_revision: "0" }],
            success: [{ request_put: { key: Buffer.from(ns + key), value: Buffer.from(value) } }],
            failure: [],
          },
          { deadline },
        ),
      ),
    close: () => client.close(),
  };
}

async function snetdOps(endpoint: string): Promise<Ops & { close(): void }> {
  const { etcdStore } = await import("../src/store/etcd.ts");
  const store = await etcdStore({ endpoints: [endpoint], namespace: "bench/snetd/" });
  return {
    get: (key) => store.get(key),
    commit: (key, value) =>
      store.commit({ compare: [{ key: "absent", version: 0n }], then: [{ op: "put", key, value }] }),
    close: () => void store.close(),
  };
}

/** `total` requests made by `workers` loops; requests per second and CPU µs per request of this process. */
async function measure(
  etcdPid: number,
  workers: number,
  total: number,
  one: (i: number) => Promise<unknown>,
): Promise<RowResult> {
  const cpu0 = cpuMicros(process.pid);
  const etcd0 = cpuMicros(etcdPid);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < total) await one(next++);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return {
    perSecond: total / seconds,
    cpuUsPerRequest: (cpuMicros(process.pid) - cpu0) / total,
    etcdUsPerRequest: (cpuMicros(etcdPid) - etcd0) / total,
  };
}

async function child(kind: Kind, endpoint: string, etcdPid: number, seq: number, conc: number): Promise<ChildReport> {
  // The daemon's own baseline: its transport speaks gRPC over node:http2 with protobuf-es messages.
  await Promise.all([
    import("node:http2"),
    import("../src/gen/state_service_pb.ts"),
    import("../src/gen/token_service_pb.ts"),
  ]);
  const ops =
    kind === "snetd" ? await snetdOps(endpoint) : kind === "etcd3" ? await etcd3Ops(endpoint, etcd3Dir()) : undefined;
  Bun.gc(true);
  const rssOpenMb = rssMb(process.pid);
  const rows: Record<string, RowResult> = {};
  if (ops) {
    const keys = Array.from({ length: CONCURRENCY }, (_, i) => `ch/${i}`);
    for (const k of keys) await ops.commit(k, RECORD);
    // Warm-up: JIT and connection state, not measured.
    await measure(etcdPid, CONCURRENCY, WARM_UP, (i) =>
      i % 2 ? ops.get(keys[i % CONCURRENCY]!) : ops.commit(keys[i % CONCURRENCY]!, RECORD),
    );
    rows["Range, sequential"] = await measure(etcdPid, 1, seq, (i) => ops.get(keys[i % CONCURRENCY]!));
    rows["Txn, sequential"] = await measure(etcdPid, 1, seq, (i) => ops.commit(keys[i % CONCURRENCY]!, RECORD));
    rows[`Range, ${CONCURRENCY} concurrent`] = await measure(etcdPid, CONCURRENCY, conc, (i) =>
      ops.get(keys[i % CONCURRENCY]!),
    );
    rows[`Txn, ${CONCURRENCY} concurrent`] = await measure(etcdPid, CONCURRENCY, conc, (i) =>
      ops.commit(keys[i % CONCURRENCY]!, RECORD),
    );
  }
  Bun.gc(true);
  const report = { kind, rows, rssOpenMb, rssAfterMb: rssMb(process.pid), peakRssMb: peakRssMb(process.pid) };
  ops?.close();
  return report;
}

function runChild(kind: Kind, endpoint: string, etcdPid: number, seq: number, conc: number): ChildReport {
  const r = spawnSync(
    process.execPath,
    [import.meta.path, "--child", kind, endpoint, String(etcdPid), String(seq), String(conc)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  if (r.status !== 0 || !line.startsWith("{"))
    throw new Error(`the ${kind} child failed (exit ${r.status}): ${r.stdout.slice(-500)}`);
  return JSON.parse(line) as ChildReport;
}

/** Of several rounds, each row's best figure (noise only ever makes a run slower). */
function best(reports: ChildReport[]): ChildReport {
  const first = reports[0]!;
  const rows: Record<string, RowResult> = {};
  for (const name of Object.keys(first.rows)) {
    rows[name] = {
      perSecond: Math.max(...reports.map((r) => r.rows[name]!.perSecond)),
      cpuUsPerRequest: Math.min(...reports.map((r) => r.rows[name]!.cpuUsPerRequest)),
      etcdUsPerRequest: Math.min(...reports.map((r) => r.rows[name]!.etcdUsPerRequest)),
    };
  }
  return {
    ...first,
    rows,
    rssOpenMb: Math.min(...reports.map((r) => r.rssOpenMb)),
    rssAfterMb: Math.min(...reports.map((r) => r.rssAfterMb)),
    peakRssMb: Math.min(...reports.map((r) => r.peakRssMb)),
  };
}

async function main() {
  const rounds = arg("rounds", 2);
  const seq = arg("seq", 5000);
  const conc = arg("conc", 20_000);
  etcd3Dir();
  const etcd = await startEtcd();
  try {
    const endpoint = etcd.endpoints[0]!;
    const runs: Record<Kind, ChildReport[]> = { snetd: [], etcd3: [], none: [] };
    for (let round = 0; round < rounds; round++) {
      // Alternate the order, so neither client always runs on a warmer etcd.
      const order: Kind[] = round % 2 === 0 ? ["etcd3", "snetd", "none"] : ["snetd", "etcd3", "none"];
      for (const kind of order) runs[kind].push(runChild(kind, endpoint, etcd.members[0]!.pid, seq, conc));
    }
    const ours = best(runs.snetd);
    const theirs = best(runs.etcd3);
    const bare = best(runs.none);
    const f = (n: number, d = 0) => n.toFixed(d).padStart(8);
    console.log(
      `\netcd client benchmark: best of ${rounds} rounds, ${seq} sequential / ${conc} concurrent requests per row, etcd ${etcd.endpoints[0]}`,
    );
    console.log(
      `${"row".padEnd(24)} ${"etcd3 req/s".padStart(12)} ${"snetd req/s".padStart(12)} ${"ratio".padStart(7)}   ${"etcd3 µs".padStart(9)} ${"snetd µs".padStart(9)} ${"ratio".padStart(7)}`,
    );
    for (const name of Object.keys(ours.rows)) {
      const a = theirs.rows[name]!;
      const b = ours.rows[name]!;
      console.log(
        `${name.padEnd(24)} ${f(a.perSecond).padStart(12)} ${f(b.perSecond).padStart(12)} ${(b.perSecond / a.perSecond).toFixed(2).padStart(7)}   ${f(a.cpuUsPerRequest).padStart(9)} ${f(b.cpuUsPerRequest).padStart(9)} ${(b.cpuUsPerRequest / a.cpuUsPerRequest).toFixed(2).padStart(7)}`,
      );
    }
    console.log(
      "(req/s ratio = snetd ÷ etcd3, higher is better; CPU µs per request of the client process, ratio = snetd ÷ etcd3, lower is better)",
    );
    console.log(
      `\n${"etcd's CPU µs/request".padEnd(24)} ${"etcd3".padStart(12)} ${"snetd".padStart(12)} ${"ratio".padStart(7)}`,
    );
    for (const name of Object.keys(ours.rows)) {
      const a = theirs.rows[name]!.etcdUsPerRequest;
      const b = ours.rows[name]!.etcdUsPerRequest;
      console.log(`${name.padEnd(24)} ${f(a).padStart(12)} ${f(b).padStart(12)} ${(b / a).toFixed(2).padStart(7)}`);
    }
    console.log(
      `\n${"RSS, MiB".padEnd(24)} ${"no client".padStart(10)} ${"etcd3".padStart(8)} ${"snetd".padStart(8)} ${"ratio".padStart(7)}`,
    );
    for (const [label, key] of [
      ["after open", "rssOpenMb"],
      ["after the load", "rssAfterMb"],
      ["peak", "peakRssMb"],
    ] as const) {
      console.log(
        `${label.padEnd(24)} ${f(bare[key], 1).padStart(10)} ${f(theirs[key], 1)} ${f(ours[key], 1)} ${(ours[key] / theirs[key]).toFixed(2).padStart(7)}`,
      );
    }
    for (const [label, key] of [
      ["added: after open", "rssOpenMb"],
      ["added: after the load", "rssAfterMb"],
      ["added: peak", "peakRssMb"],
    ] as const) {
      const a = theirs[key] - bare[key];
      const b = ours[key] - bare[key];
      console.log(`${label.padEnd(24)} ${"".padStart(10)} ${f(a, 1)} ${f(b, 1)} ${(b / a).toFixed(2).padStart(7)}`);
    }
    console.log(
      "(every child first loads node:http2 and protobuf-es with the daemon's services, as the daemon does; 'added' is over that)",
    );
  } finally {
    await etcd.stop();
  }
}

if (process.argv[2] === "--child") {
  const [kind, endpoint, etcdPid, seq, conc] = process.argv.slice(3) as [Kind, string, string, string, string];
  console.log(JSON.stringify(await child(kind, endpoint, Number(etcdPid), Number(seq), Number(conc))));
  process.exit(0);
} else if (import.meta.main) {
  await main();
}
