/**
 * Probes each dependency on a timer (not per /heartbeat request, as the reference does), keeps the latest
 * state with the time it last changed for the dashboard, and tells the alerter every result (it alerts on
 * changes only). A probe that throws or outlasts its timeout counts as down with that reason.
 *
 * @example
 * const monitor = startHealthMonitor({
 *   probes: { service: async () => { const p = await probe(); return { up: p.serving, detail: p.detail }; }, store: … },
 *   alerts, intervalMs: 15_000,
 * });
 * snapshot.health = monitor.states();
 */
import type { Alerter, Component } from "./alerts.ts";
import type { DependencyHealth } from "./dashboard/snapshot.ts";

export interface ProbeOutcome {
  up: boolean;
  detail: string;
}

export interface HealthMonitorOptions {
  probes: Partial<Record<Component, () => Promise<ProbeOutcome>>>;
  alerts?: Alerter;
  /** Default 15 s. */
  intervalMs?: number;
  /** One probe's time limit; default 5 s. */
  timeoutMs?: number;
  /** Milliseconds; default Date.now. */
  clock?: () => number;
}

export interface HealthMonitor {
  /** Latest state of each probed dependency (unknown until its first probe ends: "warning"). */
  states(): DependencyHealth[];
  /** Runs every probe now and resolves when all have reported. */
  probeNow(): Promise<void>;
  close(): void;
}

export function startHealthMonitor(opts: HealthMonitorOptions): HealthMonitor {
  const clock = opts.clock ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const names = Object.keys(opts.probes) as Component[];
  const latest = new Map<Component, DependencyHealth>(
    names.map((n) => [n, { name: n, state: "warning", detail: "not probed yet" }]),
  );

  const runOne = async (name: Component) => {
    const probe = opts.probes[name];
    if (!probe) return;
    let outcome: ProbeOutcome;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      outcome = await Promise.race([
        probe(),
        new Promise<ProbeOutcome>((resolve) => {
          timer = setTimeout(() => resolve({ up: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
        }),
      ]);
    } catch (err) {
      outcome = { up: false, detail: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
    const state = outcome.up ? "up" : "down";
    const before = latest.get(name);
    const since = before?.state === state && before.since ? before.since : new Date(clock()).toISOString();
    latest.set(name, { name, state, detail: outcome.detail, since });
    opts.alerts?.report(name, outcome.up, outcome.detail);
  };

  let running: Promise<void> | undefined;
  const probeNow = () =>
    (running ??= Promise.all(names.map(runOne)).then(() => {
      running = undefined;
    }));
  void probeNow();
  const timer = setInterval(() => void probeNow(), opts.intervalMs ?? 15_000);
  timer.unref?.();

  return {
    states: () => names.map((n) => ({ ...(latest.get(n) as DependencyHealth) })),
    probeNow,
    close: () => clearInterval(timer),
  };
}
