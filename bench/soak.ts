#!/usr/bin/env bun
/**
 * `npm run soak [-- --minutes N] [-- --clients N]`: dist/snetd running for N minutes (default 10) the way a
 * provider leaves it: paid escrow calls over TLS from several clients without pause, while the certificate
 * is renewed on disk twice, the service metadata gets a new price on the Registry once, and the AI service
 * goes down and comes back twice. Not part of `npm test`.
 *
 * Checked at the end (exit 1 if any fails): zero lost payments (for every channel, what the daemon holds
 * is exactly what the successful calls paid), one "down" and one "recovered" alert per outage at the
 * webhook, each renewed certificate served, the new price applied without a restart. Reported: calls,
 * refusals by reason, and the daemon's RSS after warm-up, at the end and at its peak (bench/results/soak.json).
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Alert } from "../src/ops/alerts.ts";
import { makeCertificate } from "../tests/kit/certs.ts";
import { ensureBinary, startDaemon } from "../tests/kit/daemon.ts";
import { type EchoService, startEchoService } from "../tests/kit/echo-service.ts";
import { freePort } from "../tests/kit/ports.ts";
import { republish } from "../tests/kit/republish.ts";
import { waitFor } from "../tests/kit/wait.ts";
import { startWebhookReceiver } from "../tests/kit/webhook-receiver.ts";
import { startWorld } from "../tests/kit/world.ts";
import { rssMb } from "./proc.ts";
import { type SoakClient, soakClient } from "./soak-client.ts";
import { fingerprintOf, servedFingerprint } from "./soak-tls.ts";

const { values: args } = parseArgs({
  options: { minutes: { type: "string", default: "10" }, clients: { type: "string", default: "4" } },
});
const totalMs = Number(args.minutes) * 60_000;
const clientCount = Number(args.clients);
if (!(totalMs > 0) || !(clientCount > 0))
  throw new Error(`--minutes "${args.minutes}" and --clients "${args.clients}" must be positive numbers`);
const outageMs = Math.max(5_000, Math.min(15_000, totalMs * 0.08));
const cooldownMs = Math.min(60_000, Math.floor((totalMs * 0.45) / 3));
const started = Date.now();
const elapsed = () => Date.now() - started;
const say = (m: string) => console.log(`[soak ${(elapsed() / 1000).toFixed(0).padStart(4)} s] ${m}`);
const at = async (fraction: number) => {
  const wait = started + fraction * totalMs - Date.now();
  if (wait > 0) await Bun.sleep(wait);
};

await ensureBinary();
const world = await startWorld({ price: 100n });
const hook = await startWebhookReceiver();
const dir = mkdtempSync(join(tmpdir(), "snetd-soak-"));
const certFile = join(dir, "cert.pem");
const keyFile = join(dir, "key.pem");
const certs = [0, 1, 2].map(() => makeCertificate({ names: ["localhost", "127.0.0.1"], days: 2 }));
const install = (i: number) => {
  const pair = certs[i]!;
  writeFileSync(`${keyFile}.new`, pair.key);
  writeFileSync(`${certFile}.new`, pair.cert);
  renameSync(`${keyFile}.new`, keyFile);
  renameSync(`${certFile}.new`, certFile);
};
install(0);
const adminPort = await freePort();
const daemon = await startDaemon({
  binary: true,
  config: world.daemonConfig({
    ssl_cert: certFile,
    ssl_key: keyFile,
    ssl_reload_interval: "2s",
    notification_endpoint: hook.url,
    alerts_cooldown: `${cooldownMs}ms`,
    health_probe_interval: "1s",
    metadata_watch_interval: "1s",
    admin_endpoint: `127.0.0.1:${adminPort}`,
    block_cache_ms: 1000,
    log: { level: "info" },
  }),
});
say(
  `dist/snetd pid ${daemon.pid} on ${daemon.endpoint} (TLS), ${clientCount} clients, ${args.minutes} min, outages of ${outageMs / 1000} s, alert cool-down ${cooldownMs / 1000} s`,
);

let echo: EchoService = world.echo;
let price = world.price;
const setPrice = (p: bigint) => {
  price = p;
};
const roots = Buffer.concat(certs.map((c) => c.cert));
const clients: SoakClient[] = [];
for (let i = 0; i < clientCount; i++) {
  const ch = await world.openFundedChannel({ value: 10n ** 15n, expiration: (await world.head()) + 10_000_000n });
  clients.push(soakClient(world, daemon, ch, { roots, name: "localhost" }, () => price, setPrice));
}
const running = clients.map((c) => c.run());
const rss: { t_s: number; mb: number }[] = [];
const sampler = setInterval(
  () => rss.push({ t_s: Math.round(elapsed() / 1000), mb: Math.round(rssMb(daemon.pid) * 10) / 10 }),
  5_000,
);
const checks: Record<string, boolean> = {};
const downs = () =>
  hook
    .delivered()
    .map((r) => r.body as Alert)
    .filter((a) => a.component === "service");

async function rotate(i: number) {
  install(i);
  const ok = await waitFor(
    `certificate ${i} served`,
    async () => ((await servedFingerprint(daemon.endpoint)) === fingerprintOf(certs[i]!.cert) ? true : undefined),
    {
      timeoutMs: 30_000,
      intervalMs: 250,
    },
  ).catch(() => false);
  checks[`certificate ${i} served without a restart`] = ok;
  say(`certificate ${i} installed: ${ok ? "served to new handshakes" : "NOT served"}`);
}

async function outage(n: number) {
  const before = downs().length;
  await echo.stop();
  say(`outage ${n}: service stopped`);
  await Bun.sleep(outageMs);
  echo = await startEchoService({ port: world.echo.port });
  say(`outage ${n}: service back`);
  const told = await waitFor(`outage ${n}'s alerts`, () => (downs().length >= before + 2 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 250,
  }).catch(() => false);
  say(`outage ${n}: ${told ? "down and recovered alerts arrived" : "alerts MISSING"}`);
}

await at(0.15);
const rssStart = rssMb(daemon.pid);
await at(0.2);
await rotate(1);
await at(0.3);
await outage(1);
await at(0.45);
const oldPrice = price;
await republish(world, { price: 120n });
say("metadata republished on the Registry with price 120");
checks["new price charged without a restart"] = await waitFor(
  "the new price",
  () => (price === 120n ? true : undefined),
  { timeoutMs: 60_000, intervalMs: 100 },
).catch(() => false);
say(`price ${oldPrice} → ${price}`);
await at(0.6);
await rotate(2);
await at(0.75);
await outage(2);
await at(1);
const rssEnd = rssMb(daemon.pid);
for (const c of clients) c.stop();
await Promise.all(running);
clearInterval(sampler);
await Bun.sleep(2_000); // late alerts, if any were wrongly held back

const serviceAlerts = downs();
const perChannel = await Promise.all(clients.map((c) => c.reconcile()));
const lost = perChannel.reduce((s, r) => s + (r.paid > r.held ? r.paid - r.held : 0n), 0n);
const overcharged = perChannel.reduce((s, r) => s + (r.held > r.paid ? r.held - r.paid : 0n), 0n);
const refusals: Record<string, number> = {};
for (const c of clients) for (const [k, v] of Object.entries(c.tally.refused)) refusals[k] = (refusals[k] ?? 0) + v;
checks["zero lost payments"] = lost === 0n;
checks["nothing charged for a failed call"] = overcharged === 0n;
checks["one down alert per outage"] = serviceAlerts.filter((a) => a.kind === "component_down").length === 2;
checks["one recovered alert per outage"] = serviceAlerts.filter((a) => a.kind === "component_up").length === 2;
checks["daemon alive at the end"] =
  (await fetch(`${daemon.url}/heartbeat`, { tls: { rejectUnauthorized: false } })
    .then((r) => r.ok)
    .catch(() => false)) === true;

const report = {
  minutes: Number(args.minutes),
  clients: clientCount,
  calls_ok: clients.reduce((s, c) => s + c.tally.ok, 0),
  cogs_paid: perChannel.reduce((s, r) => s + r.paid, 0n).toString(),
  cogs_held_by_daemon: perChannel.reduce((s, r) => s + r.held, 0n).toString(),
  lost_cogs: lost.toString(),
  overcharged_cogs: overcharged.toString(),
  refusals,
  resyncs: clients.reduce((s, c) => s + c.tally.resyncs, 0),
  alerts: serviceAlerts.map((a) => `${a.kind} ${a.time}`),
  rss_mb: {
    after_warmup: Math.round(rssStart * 10) / 10,
    end: Math.round(rssEnd * 10) / 10,
    peak: Math.max(...rss.map((r) => r.mb)),
  },
  rss_series: rss,
  checks,
};
const out = resolve(import.meta.dir, "results/soak.json");
mkdirSync(resolve(import.meta.dir, "results"), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify({ ...report, rss_series: `${rss.length} samples in ${out}` }, null, 2));

for (const c of clients) c.close();
await daemon.stop();
await echo.stop();
await hook.stop();
await world.stop();
rmSync(dir, { recursive: true, force: true });
const failed = Object.entries(checks).filter(([, ok]) => !ok);
if (failed.length > 0) {
  console.error(`soak: FAILED: ${failed.map(([k]) => k).join("; ")}`);
  process.exit(1);
}
console.log("soak: every check passed");
