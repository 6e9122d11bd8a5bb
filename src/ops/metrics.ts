/**
 * Prometheus metrics on `/metrics` (prom-client): process metrics plus what a provider watches — calls
 * admitted and refused by payment type and status code, calls the service failed, and calls in flight.
 * Counters only on the hot path (a label lookup and an add; no histograms per call).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

export interface DaemonMetrics {
  admitted(paymentType: string): void;
  refused(code: number): void;
  settled(ok: boolean): void;
  render(): Promise<{ contentType: string; body: string }>;
}

export function daemonMetrics(inFlight: () => number): DaemonMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "snetd_" });
  const admitted = new Counter({ name: "snetd_calls_admitted_total", help: "Proxied calls admitted, by payment type", labelNames: ["payment_type"], registers: [registry] });
  const refused = new Counter({ name: "snetd_calls_refused_total", help: "Proxied calls refused before reaching the service, by gRPC status code", labelNames: ["code"], registers: [registry] });
  const completed = new Counter({ name: "snetd_calls_completed_total", help: "Admitted calls by outcome at the service (ok or error)", labelNames: ["outcome"], registers: [registry] });
  new Gauge({ name: "snetd_calls_in_flight", help: "Calls being served now", registers: [registry], collect() { this.set(inFlight()); } });
  // Label children are looked up once per label value: prom-client hashes the label object on every
  // inc() otherwise, which showed in the passthrough profile.
  const children = <T,>(make: (v: string) => T) => {
    const cache = new Map<string, T>();
    return (v: string) => {
      let c = cache.get(v);
      if (!c) cache.set(v, (c = make(v)));
      return c;
    };
  };
  const admittedAs = children((t) => admitted.labels({ payment_type: t }));
  const refusedAs = children((c) => refused.labels({ code: c }));
  const ok = completed.labels({ outcome: "ok" });
  const failed = completed.labels({ outcome: "error" });
  return {
    admitted: (t) => admittedAs(t).inc(),
    refused: (code) => refusedAs(String(code)).inc(),
    settled: (wasOk) => (wasOk ? ok : failed).inc(),
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
