/** The issue's targets, checked against one run's rows: goals to report against, never CI gates. */
import type { ReportRow, TargetCheck } from "./report.ts";

const f = (x: number | null | undefined, digits = 2) => (x === null || x === undefined ? "—" : x.toFixed(digits));

export function checkTargets(rows: ReportRow[]): TargetCheck[] {
  const get = (name: string) => rows.find((r) => r.name === name);
  const ratio = (a: string, b: string) => {
    const x = get(a)?.calls_per_s;
    const y = get(b)?.calls_per_s;
    return x && y ? x / y : undefined;
  };
  const checks: TargetCheck[] = [];

  const pass = ratio("passthrough", "direct");
  checks.push({
    target: "passthrough / direct ≥ 0.70 (h2load both)",
    measured: f(pass),
    met: pass === undefined ? undefined : pass >= 0.7,
  });
  const paid = ratio("paid, embedded store", "passthrough (ts client)");
  const paidH2 = ratio("paid, embedded store", "passthrough");
  checks.push({
    target: "paid (embedded) / passthrough ≥ 0.50",
    measured: `${f(paid)} against the same TS client (${f(paidH2)} against h2load passthrough)`,
    met: paid === undefined ? undefined : paid >= 0.5,
  });

  for (const name of ["paid, embedded store", "paid, etcd"]) {
    const r = get(name);
    if (!r) continue;
    const methods = Object.entries(r.chain_rpcs ?? {});
    // Background readers, not per call: the head poll (eth_blockNumber) and the MPE and Registry event
    // followers (eth_getLogs, and a block header they read), each one request per poll for every channel.
    const background = new Set(["eth_blockNumber", "eth_getLogs", "eth_getBlockByNumber"]);
    const perCall = methods.filter(([m]) => !background.has(m));
    const text = methods.length ? methods.map(([m, n]) => `${n} ${m}`).join(", ") : "none";
    checks.push({
      target: `0 chain RPCs per paid call in steady state (${name})`,
      measured: `${text} during ${r.repetitions} windows (${f(r.chain_rpcs_per_call, 5)} per call; head poll and event followers run in the background, not per call)`,
      met: perCall.length === 0,
    });
    const txns = r.store_txns_per_call;
    const requests = r.store_requests_per_call
      ? ` (etcd requests per call: ${Object.entries(r.store_requests_per_call)
          .map(([m, n]) => `${m} ${n}`)
          .join(", ")})`
      : "";
    if (name === "paid, etcd") {
      // Group commit: concurrent calls share one etcd Txn, so under load it is well under one per call;
      // the c=1 row shows one per call. No Range: the channel is read from the daemon's own last commit.
      const ranges = r.store_requests_per_call?.Range ?? 0;
      checks.push({
        target: `at most 1 etcd request (a Txn, no Range) per successful paid call (${name})`,
        measured: `${f(txns, 3)}${requests}`,
        met: txns === undefined ? undefined : txns <= 1.02 && ranges <= 0.02,
      });
    } else {
      // Window edges cut calls in flight, so a few per mille either way is still one per call.
      checks.push({
        target: `1 store transaction per successful paid call (${name})`,
        measured: `${f(txns, 3)}${requests}`,
        met: txns === undefined ? undefined : Math.abs(txns - 1) <= 0.02,
      });
    }
  }

  const etcdRate = get("paid, etcd")?.calls_per_s;
  checks.push({
    target: "paid calls/s on etcd, c=50 ≥ 3000",
    measured: f(etcdRate, 0),
    met: etcdRate == null ? undefined : etcdRate >= 3000,
  });
  for (const [name, limit] of [
    ["paid, embedded store", 130],
    ["paid, etcd", 300],
  ] as const) {
    const cpu = get(name)?.cpu_us_per_call;
    checks.push({
      target: `daemon CPU per paid call ≤ ${limit} µs (${name})`,
      measured: cpu == null ? "—" : `${f(cpu, 0)} µs`,
      met: cpu == null ? undefined : cpu <= limit,
    });
  }

  const added = (name: string, limit: number) => {
    const paidRow = get(name);
    const passRow = get("passthrough c=1");
    const delta = paidRow?.p50_ms != null && passRow?.p50_ms != null ? paidRow.p50_ms - passRow.p50_ms : undefined;
    checks.push({
      target: `added p50 of a paid call ≤ ${limit} ms (${name} − passthrough c=1)`,
      measured: delta === undefined ? "—" : `${f(delta, 3)} ms (${f(paidRow?.p50_ms, 3)} − ${f(passRow?.p50_ms, 3)})`,
      met: delta === undefined ? undefined : delta <= limit,
    });
  };
  added("paid, embedded store c=1", 1);
  added("paid, etcd c=1", 2.5);

  // An HTTP service: the payment plus the gRPC ⇄ JSON translation, against calling the service directly.
  const httpPaid = get("paid, HTTP service c=1");
  const httpDirect = get("direct HTTP service c=1");
  const httpDelta =
    httpPaid?.p50_ms != null && httpDirect?.p50_ms != null ? httpPaid.p50_ms - httpDirect.p50_ms : undefined;
  checks.push({
    target: "added p50 of a paid call to an HTTP service ≤ 2 ms (paid, HTTP service c=1 − direct HTTP service c=1)",
    measured:
      httpDelta === undefined ? "—" : `${f(httpDelta, 3)} ms (${f(httpPaid?.p50_ms, 3)} − ${f(httpDirect?.p50_ms, 3)})`,
    met: httpDelta === undefined ? undefined : httpDelta <= 2,
  });

  const rss = rows.filter((r) => r.kind === "load" && r.rss_mb !== null);
  const worst = rss.reduce<ReportRow | undefined>(
    (a, r) => (!a || (r.rss_mb ?? 0) > (a.rss_mb ?? 0) ? r : a),
    undefined,
  );
  checks.push({
    target: "daemon RSS ≤ 150 MB under load",
    measured: worst ? `${f(worst.rss_mb, 1)} MB peak (${worst.name})` : "—",
    met: worst ? (worst.rss_mb ?? 0) <= 150 : undefined,
  });

  for (const r of rows.filter((x) => x.kind === "startup")) {
    checks.push({
      target: `${r.name} ≤ 0.5 s`,
      measured: `${f(r.p50_ms, 0)} ms median`,
      met: r.p50_ms === null ? undefined : r.p50_ms <= 500,
    });
  }
  return checks;
}
