/**
 * Everything `serve` does to run unattended (issue #12), wired around the daemon in three steps:
 *
 * 1. `prepareOperations` before the payment wiring: metrics, activity tallies, alerts, rate limiters, and
 *    the hooks app/daemon-settings.ts puts into the payment path (timed store and slots, per-payer and
 *    per-channel limits, the live-metadata restart rule, auto-claim outcomes);
 * 2. `settings` before the listener: the certificate holder (files or ACME), the guarded gate (global
 *    bucket, accounting), the daemon's own methods behind their bucket;
 * 3. `started` after it: the health monitor feeding the alerts, the channel watch, live metadata and the
 *    admin listener with /metrics and the dashboard.
 *
 * `reload` is SIGHUP (certificate files and metadata re-read); `stop` ends all of it.
 */
import type { ClaimOutcome } from "../claims/claimer.ts";
import type { Config } from "../config/schema.ts";
import type { AdminServer } from "../ops/admin-server.ts";
import { emailSink, webhookSink } from "../ops/alert-sinks.ts";
import { type Alerter, type AlertSink, createAlerter } from "../ops/alerts.ts";
import { type Activity, createActivity } from "../ops/dashboard/activity.ts";
import { type HealthMonitor, startHealthMonitor } from "../ops/health-monitor.ts";
import type { Logger } from "../ops/log.ts";
import { type DaemonMetrics, daemonMetrics } from "../ops/metrics.ts";
import { bucketSpec, createRateLimiter } from "../ops/rate-limit.ts";
import { startAdmin } from "./admin-setup.ts";
import { type ChannelWatch, watchChannels } from "./channel-watch.ts";
import type { Daemon, DaemonSettings } from "./daemon.ts";
import type { BuiltSettings } from "./daemon-settings.ts";
import { guardedGate, limitMethods, type MethodScope, payerLimit } from "./guarded-gate.ts";
import { healthProbes } from "./health-probes.ts";
import { timedSlots, timedStore } from "./instruments.ts";
import { type LiveMetadata, restartRule, startLiveMetadata } from "./live-metadata.ts";
import type { PaymentContext } from "./payment-context.ts";
import type { PaymentHooks } from "./payment-hooks.ts";
import { type DaemonTls, daemonTls } from "./tls-setup.ts";

export interface Operations {
  readonly metrics: DaemonMetrics;
  readonly activity: Activity;
  /** For app/daemon-settings.ts `buildSettings`. */
  readonly hooks: PaymentHooks;
  settings(built: BuiltSettings): Promise<DaemonSettings>;
  started(daemon: Daemon, ctx?: PaymentContext): Promise<void>;
  reload(why: string): Promise<void>;
  stop(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 5000;
/** At stop, how long queued alerts may still be delivered. */
const ALERT_DRAIN_MS = 3000;

function alertSinks(config: Config): AlertSink[] {
  const sinks: AlertSink[] = [];
  const smtp = config.alerts_smtp;
  if (config.alerts_email && smtp.host) {
    sinks.push(
      emailSink({
        to: config.alerts_email,
        from: smtp.from,
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure,
        requireTls: smtp.require_tls,
        ...(smtp.username ? { username: smtp.username, password: smtp.password } : {}),
      }),
    );
  }
  if (config.notification_endpoint) sinks.push(webhookSink({ url: config.notification_endpoint }));
  return sinks;
}

/** The dashboard's claim row of an auto-claim outcome (planned and skipped ones are not claims). */
function claimRow(o: ClaimOutcome) {
  if (o.status !== "claimed" && o.status !== "already-claimed" && o.status !== "failed") return undefined;
  return {
    at: new Date().toISOString(),
    channelIds: [o.channelId],
    amountCogs: o.amount,
    ...(o.tx ? { tx: o.tx } : {}),
    status: o.status === "failed" ? ("failed" as const) : ("mined" as const),
    ...(o.status === "already-claimed" ? { detail: "already claimed on-chain" } : o.reason ? { detail: o.reason } : {}),
  };
}

/** Step 1: what exists before the payment wiring. */
export function prepareOperations(config: Config, log: Logger): Operations {
  const startedAt = new Date();
  const metrics = daemonMetrics();
  const activity = createActivity();
  const sinks = alertSinks(config);
  const alerts: Alerter | undefined =
    sinks.length > 0
      ? createAlerter({
          sinks,
          log,
          daemon: {
            organization_id: config.organization_id,
            service_id: config.service_id,
            group: config.daemon_group_name,
          },
          cooldownMs: config.alerts_cooldown,
        })
      : undefined;
  const globalSpec = bucketSpec(config.rate_limit_per_minute, config.burst_size);
  const global = globalSpec ? createRateLimiter<never>({ global: globalSpec }) : undefined;
  const payer = bucketSpec(config.rate_limit_per_payer_per_minute, config.burst_size_per_payer);
  const channel = bucketSpec(config.rate_limit_per_channel_per_minute, config.burst_size_per_channel);
  const scoped =
    payer || channel
      ? createRateLimiter<"payer" | "channel">({
          scopes: { ...(payer ? { payer } : {}), ...(channel ? { channel } : {}) },
          maxKeys: config.rate_limit_tracked_keys,
        })
      : undefined;
  const rpcSpec = bucketSpec(config.rate_limit_daemon_rpc_per_minute, undefined);
  const daemonRpc = rpcSpec ? createRateLimiter<never>({ global: rpcSpec }) : undefined;
  const rpcPerAddress = bucketSpec(config.rate_limit_daemon_rpc_per_address_per_minute, undefined);
  const tokenPerAddress = bucketSpec(config.rate_limit_token_rpc_per_address_per_minute, undefined);
  const perAddress =
    rpcPerAddress || tokenPerAddress
      ? createRateLimiter<MethodScope>({
          scopes: {
            ...(rpcPerAddress ? { rpc: rpcPerAddress } : {}),
            ...(tokenPerAddress ? { token: tokenPerAddress } : {}),
          },
          maxKeys: config.rate_limit_tracked_keys,
        })
      : undefined;

  const hooks: PaymentHooks = {
    wrapStore: (s) => timedStore(s, metrics),
    wrapSlots: (s) => timedSlots(s, metrics),
    ...(scoped ? { limit: payerLimit(scoped) } : {}),
    restartNeeded: restartRule(config),
    onClaim(o) {
      metrics.claim(o.status, o.amount);
      const row = claimRow(o);
      if (row) activity.claim(row);
    },
  };

  let tls: DaemonTls | undefined;
  let monitor: HealthMonitor | undefined;
  let watch: ChannelWatch | undefined;
  let live: LiveMetadata | undefined;
  let admin: AdminServer | undefined;
  if (globalSpec || scoped || daemonRpc) {
    log.info("rate limits", {
      per_minute: config.rate_limit_per_minute,
      per_payer_per_minute: config.rate_limit_per_payer_per_minute,
      per_channel_per_minute: config.rate_limit_per_channel_per_minute,
      daemon_rpc_per_minute: config.rate_limit_daemon_rpc_per_minute,
    });
  }

  return {
    metrics,
    activity,
    hooks,
    async settings(built) {
      tls = await daemonTls(config, log);
      if (tls) {
        const current = tls.holder.current();
        if (current) metrics.certificateExpiry(current.notAfter);
        tls.holder.onChange((pair) => metrics.certificateExpiry(pair.notAfter));
      }
      const s = built.settings;
      const methods = s.methods ?? [];
      return {
        ...s,
        gate: guardedGate(s.gate, { ...(global ? { global } : {}), metrics, activity }),
        onLimit(hit, peer) {
          s.onLimit?.(hit, peer);
          metrics.listenerCut(hit);
        },
        methods:
          daemonRpc || perAddress
            ? limitMethods(methods, {
                ...(daemonRpc ? { global: daemonRpc } : {}),
                ...(perAddress ? { perAddress } : {}),
              })
            : methods,
        meter: metrics,
        ...(tls ? { tls: tls.holder } : {}),
      };
    },
    async started(daemon, ctx) {
      const probes = healthProbes({
        config,
        ...(ctx ? { ctx } : {}),
        service: () => daemon.probe(),
        metrics,
        timeoutMs: PROBE_TIMEOUT_MS,
      });
      monitor = startHealthMonitor({
        probes,
        ...(alerts ? { alerts } : {}),
        intervalMs: config.health_probe_interval,
        timeoutMs: PROBE_TIMEOUT_MS,
      });
      if (ctx) {
        // With auto-claim on, snetd claims expiring channels itself; the alert is for operators who claim by hand.
        const alertWithinBlocks = config.auto_claim.enabled ? 0n : (config.alerts_channel_expiry_blocks ?? 0n);
        const w = watchChannels({
          ctx,
          intervalMs: config.health_probe_interval,
          alertWithinBlocks,
          ...(alerts ? { alerts } : {}),
          metrics,
          log,
        });
        // A paid call or a claim changes what is unclaimed: the next snapshot lists the store again.
        activity.onChange(() => w.invalidate());
        watch = w;
        live = await startLiveMetadata({ config, ctx, log, ...(alerts ? { alerts } : {}) });
      }
      admin = await startAdmin({
        config,
        ...(ctx ? { ctx } : {}),
        activity,
        monitor,
        ...(watch ? { watch } : {}),
        ...(tls ? { tls: tls.holder } : {}),
        inFlight: () => daemon.inFlight(),
        startedAt,
        metrics,
        log,
      });
    },
    async reload(why) {
      await Promise.all([tls?.reload(why), live?.refresh(why)]);
    },
    async stop() {
      await admin?.close();
      live?.stop();
      watch?.stop();
      monitor?.close();
      await tls?.close();
      if (alerts) {
        await Promise.race([alerts.drained(), new Promise((r) => setTimeout(r, ALERT_DRAIN_MS).unref?.())]);
        alerts.close();
      }
    },
  };
}
