/**
 * The health monitor (src/ops/health-monitor.ts) probing a real HTTP service that is stopped and started
 * again, feeding the alerter and a real webhook receiver: one "down" and one "recovered" alert for the
 * outage however many probes fail, dashboard states with the time of the last change, and a probe that
 * hangs counted as down.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { webhookSink } from "../../src/ops/alert-sinks.ts";
import { type Alert, createAlerter } from "../../src/ops/alerts.ts";
import { type ProbeOutcome, startHealthMonitor } from "../../src/ops/health-monitor.ts";
import { captureLog } from "../kit/capture-log.ts";
import { freePort } from "../kit/ports.ts";
import { until } from "../kit/wait.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../kit/webhook-receiver.ts";

let hook: WebhookReceiver;
let port = 0;
let service: ReturnType<typeof Bun.serve> | undefined;
const startService = () => (service = Bun.serve({ port, hostname: "127.0.0.1", fetch: () => new Response("ok") }));

async function probeService(): Promise<ProbeOutcome> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    return { up: res.ok, detail: `HTTP ${res.status}` };
  } catch (err) {
    return { up: false, detail: (err as Error).message };
  }
}

beforeAll(async () => {
  hook = await startWebhookReceiver();
  port = await freePort();
  startService();
});
afterAll(async () => {
  await service?.stop(true);
  await hook?.stop();
});

describe("health monitor", () => {
  test("a service outage seen by many probes gives one down and one recovered alert", async () => {
    const alerts = createAlerter({
      sinks: [webhookSink({ url: hook.url, firstDelayMs: 20 })],
      log: captureLog(),
      daemon: { organization_id: "o", service_id: "s", group: "g" },
    });
    const monitor = startHealthMonitor({ probes: { service: probeService }, alerts, intervalMs: 50 });
    try {
      await until(() => monitor.states()[0]?.state === "up", "the first probe");
      const upSince = monitor.states()[0]?.since;
      await service?.stop(true);
      await until(() => monitor.states()[0]?.state === "down", "the probe to see the outage");
      for (let i = 0; i < 10; i++) await monitor.probeNow(); // more failing probes: no more alerts
      startService();
      await until(() => monitor.states()[0]?.state === "up", "the probe to see the service back");
      await alerts.drained();
      const kinds = hook.delivered().map((r) => (r.body as Alert).kind);
      expect(kinds).toEqual(["component_down", "component_up"]);
      expect(monitor.states()[0]?.since).not.toBe(upSince);
    } finally {
      monitor.close();
      alerts.close();
    }
  });

  test("a probe that never answers counts as down, with the reason", async () => {
    const monitor = startHealthMonitor({
      probes: { chain: () => new Promise<ProbeOutcome>(() => {}), store: async () => ({ up: true, detail: "sqlite" }) },
      timeoutMs: 100,
      intervalMs: 60_000,
    });
    try {
      await until(() => monitor.states().every((s) => s.state !== "warning"), "both probes to report");
      expect(monitor.states().map((s) => [s.name, s.state, s.detail])).toEqual([
        ["chain", "down", "no answer within 100 ms"],
        ["store", "up", "sqlite"],
      ]);
    } finally {
      monitor.close();
    }
  });
});
