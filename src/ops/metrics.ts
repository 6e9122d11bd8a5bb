/**
 * Prometheus metrics on `/metrics` (prom-client): process metrics plus what a provider watches — calls by
 * payment type and outcome, cogs earned and still unclaimed, the wait for a channel's slot, the store's
 * commit latency, the chain head's age, claim results and the TLS certificate's expiry.
 *
 * Amounts are bigint cogs in the daemon and float64 in Prometheus (its only number type): exact up to
 * 2^53 cogs, rounded beyond. The hot path does a cached label lookup and an add; the two histograms
 * (slot wait, commit) are observed once per paid call.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** How a proxied call ended, for `snetd_calls_total{outcome}`. */
export type CallOutcome = "ok" | "service_error" | "refused";

export interface DaemonMetrics {
  admitted(paymentType: string): void;
  refused(code: number): void;
  settled(ok: boolean): void;
  /** One proxied call ended: its payment type ("escrow", "prepaid-call", "free-call", "none") and outcome. */
  call(paymentType: string, outcome: CallOutcome): void;
  /** Cogs a successful paid call added to what the provider can claim. */
  earned(cogs: bigint): void;
  /** Signed for and not yet claimed, over the channels that have any (refreshed by the channel watch). */
  unclaimed(cogs: bigint, channels: number): void;
  slotWait(seconds: number): void;
  storeCommit(seconds: number, ok: boolean): void;
  /** The chain head and how old its timestamp is. */
  chainHead(block: bigint, ageSeconds: number): void;
  /** One claim outcome of auto-claim ("claimed", "already-claimed", "failed"…) and its amount. */
  claim(result: string, cogs: bigint): void;
  certificateExpiry(notAfter: Date): void;
  /** A client cut by a listener limit, named by its config key (transport/limits.ts). */
  listenerCut(limit: string): void;
  /** Where the in-flight gauge reads from (the listener exists after the metrics). */
  inFlightFrom(read: () => number): void;
  render(): Promise<{ contentType: string; body: string }>;
}

const cogsNumber = (cogs: bigint) => Number(cogs);

/** Label children are looked up once per value: prom-client hashes the label object on every inc() otherwise. */
function children<T>(make: (v: string) => T): (v: string) => T {
  const cache = new Map<string, T>();
  return (v) => {
    let c = cache.get(v);
    if (!c) {
      c = make(v);
      cache.set(v, c);
    }
    return c;
  };
}

/** A registry of the daemon's metrics; `inFlight` may be given later with `inFlightFrom`. */
export function daemonMetrics(inFlight: () => number = () => 0): DaemonMetrics {
  let readInFlight = inFlight;
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: "snetd_" });
  const admitted = new Counter({
    name: "snetd_calls_admitted_total",
    help: "Proxied calls admitted, by payment type",
    labelNames: ["payment_type"],
    registers,
  });
  const refused = new Counter({
    name: "snetd_calls_refused_total",
    help: "Proxied calls refused before reaching the service, by gRPC status code",
    labelNames: ["code"],
    registers,
  });
  const completed = new Counter({
    name: "snetd_calls_completed_total",
    help: "Admitted calls by outcome at the service (ok or error)",
    labelNames: ["outcome"],
    registers,
  });
  const calls = new Counter({
    name: "snetd_calls_total",
    help: "Proxied calls by payment type and outcome (ok, service_error, refused)",
    labelNames: ["payment_type", "outcome"],
    registers,
  });
  const earned = new Counter({
    name: "snetd_earned_cogs_total",
    help: "Cogs earned by successful paid calls since start",
    registers,
  });
  const unclaimed = new Gauge({
    name: "snetd_unclaimed_cogs",
    help: "Cogs signed for by clients and not yet claimed on-chain",
    registers,
  });
  const unclaimedChannels = new Gauge({
    name: "snetd_unclaimed_channels",
    help: "Channels with a signed amount not yet claimed",
    registers,
  });
  const slotWait = new Histogram({
    name: "snetd_slot_wait_seconds",
    help: "Time to take (or be refused) a channel's in-flight slot",
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers,
  });
  const commit = new Histogram({
    name: "snetd_store_commit_seconds",
    help: "Payment store commit latency, by result",
    labelNames: ["result"],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers,
  });
  const head = new Gauge({
    name: "snetd_chain_head_block",
    help: "Latest block number seen by the health probe",
    registers,
  });
  const headAge = new Gauge({
    name: "snetd_chain_head_age_seconds",
    help: "Age of the latest block's timestamp when last probed (chain head lag)",
    registers,
  });
  const claims = new Counter({
    name: "snetd_claims_total",
    help: "Auto-claim outcomes per channel, by result",
    labelNames: ["result"],
    registers,
  });
  const claimedCogs = new Counter({
    name: "snetd_claimed_cogs_total",
    help: "Cogs claimed on-chain by auto-claim since start",
    registers,
  });
  const certExpiry = new Gauge({
    name: "snetd_tls_certificate_expiry_timestamp_seconds",
    help: "notAfter of the certificate served on the daemon port",
    registers,
  });
  new Gauge({
    name: "snetd_calls_in_flight",
    help: "Calls being served now",
    registers,
    collect() {
      this.set(readInFlight());
    },
  });
  const cuts = new Counter({
    name: "snetd_listener_cuts_total",
    help: "Clients cut or refused by a listener limit, by the limit's config key",
    labelNames: ["limit"],
    registers,
  });
  const cutsAs = children((l) => cuts.labels({ limit: l }));
  const admittedAs = children((t) => admitted.labels({ payment_type: t }));
  const refusedAs = children((c) => refused.labels({ code: c }));
  const callsAs = children((k) => {
    const [payment_type = "", outcome = ""] = k.split(" ");
    return calls.labels({ payment_type, outcome });
  });
  const commitAs = children((r) => commit.labels({ result: r }));
  const ok = completed.labels({ outcome: "ok" });
  const failed = completed.labels({ outcome: "error" });
  return {
    admitted: (t) => admittedAs(t).inc(),
    refused: (code) => refusedAs(String(code)).inc(),
    settled: (wasOk) => (wasOk ? ok : failed).inc(),
    call: (t, outcome) => callsAs(`${t} ${outcome}`).inc(),
    earned: (cogs) => {
      if (cogs > 0n) earned.inc(cogsNumber(cogs));
    },
    unclaimed(cogs, channels) {
      unclaimed.set(cogsNumber(cogs));
      unclaimedChannels.set(channels);
    },
    slotWait: (s) => slotWait.observe(s),
    storeCommit: (s, wasOk) => commitAs(wasOk ? "ok" : "error").observe(s),
    chainHead(block, age) {
      head.set(cogsNumber(block));
      headAge.set(age);
    },
    claim(result, cogs) {
      claims.labels({ result }).inc();
      if (result === "claimed") claimedCogs.inc(cogsNumber(cogs));
    },
    certificateExpiry: (at) => certExpiry.set(at.getTime() / 1000),
    listenerCut: (limit) => cutsAs(limit).inc(),
    inFlightFrom(read) {
      readInFlight = read;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
