/**
 * What the health monitor (src/ops/health-monitor.ts) probes in `serve`: the AI service (its real health
 * answer, as /heartbeat reports it), the chain (the latest block, whose age feeds the head-lag metric),
 * the payment store (one read) and IPFS (its version call) when metadata comes from the Registry. Each
 * probe resolves to up or down with a one-line detail; the monitor adds the timeout.
 */
import type { Config } from "../config/schema.ts";
import type { Component } from "../ops/alerts.ts";
import type { ProbeOutcome } from "../ops/health-monitor.ts";
import type { DaemonMetrics } from "../ops/metrics.ts";
import type { ProbeResult } from "../transport/health-probe.ts";
import type { PaymentContext } from "./payment-context.ts";

type Probes = Partial<Record<Component, () => Promise<ProbeOutcome>>>;

const message = (err: unknown) => (err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err));

/** Kubo answers its RPC on POST only; the version call is its cheapest. */
async function ipfsUp(endpoint: string, timeoutMs: number): Promise<ProbeOutcome> {
  const url = `${endpoint.replace(/\/+$/, "")}/api/v0/version`;
  const res = await fetch(url, { method: "POST", signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.json().catch(() => ({}))) as { Version?: unknown };
  if (!res.ok) return { up: false, detail: `${new URL(endpoint).host} answered HTTP ${res.status}` };
  return { up: true, detail: `${new URL(endpoint).host}, version ${String(body.Version ?? "unknown")}` };
}

/** The probes for this configuration; without payments only the service is probed. */
export function healthProbes(o: {
  config: Config;
  ctx?: PaymentContext;
  service: () => Promise<ProbeResult>;
  metrics?: DaemonMetrics;
  timeoutMs: number;
}): Probes {
  const probes: Probes = {
    service: async () => {
      const p = await o.service();
      return { up: p.serving, detail: p.detail };
    },
  };
  const ctx = o.ctx;
  if (!ctx) return probes;
  probes.chain = async () => {
    const block = await ctx.client.getBlock({ blockTag: "latest" });
    const age = Math.max(0, Math.round(Date.now() / 1000 - Number(block.timestamp)));
    o.metrics?.chainHead(block.number, age);
    return { up: true, detail: `head ${block.number}, ${age} s old` };
  };
  probes.store = async () => {
    try {
      // A key nobody writes: the read goes to the backend (etcd) without touching payment records.
      await ctx.store.get(ctx.keys.secret("health-probe"));
      return { up: true, detail: ctx.store.kind };
    } catch (err) {
      return { up: false, detail: `${ctx.store.kind}: ${message(err)}` };
    }
  };
  const fromRegistry = !(o.config.organization_metadata_file && o.config.service_metadata_file);
  if (fromRegistry) probes.ipfs = () => ipfsUp(o.config.ipfs_endpoint, o.timeoutMs);
  return probes;
}
