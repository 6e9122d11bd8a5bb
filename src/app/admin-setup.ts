/**
 * The admin listener of `serve` (`admin_endpoint`): /metrics and the operator dashboard behind
 * `admin_token`. The dashboard's snapshot is assembled here from what the daemon already keeps: the
 * health monitor's states, the activity tallies of the call path, the channel watch's listing (channels
 * with unclaimed amounts and their expiry, the chain head) and the certificate being served.
 */

import type { Config } from "../config/schema.ts";
import { parseHostPort } from "../config/schema.ts";
import { VERSION } from "../core/version.ts";
import { type AdminServer, adminApp, startAdminServer } from "../ops/admin-server.ts";
import type { Activity } from "../ops/dashboard/activity.ts";
import type { DashboardSnapshot } from "../ops/dashboard/snapshot.ts";
import type { HealthMonitor } from "../ops/health-monitor.ts";
import type { Logger } from "../ops/log.ts";
import type { DaemonMetrics } from "../ops/metrics.ts";
import type { CertificateHolder } from "../ops/tls-holder.ts";
import type { ChannelWatch } from "./channel-watch.ts";
import type { PaymentContext } from "./payment-context.ts";

/** Rows sent to the page at most; the total above them counts every channel. */
const MAX_CHANNEL_ROWS = 200;

export interface SnapshotSources {
  config: Config;
  ctx?: PaymentContext;
  activity: Activity;
  monitor: HealthMonitor;
  watch?: ChannelWatch;
  tls?: CertificateHolder;
  inFlight: () => number;
  startedAt: Date;
}

/** One dashboard snapshot, assembled on request. */
export async function dashboardSnapshot(s: SnapshotSources): Promise<DashboardSnapshot> {
  const a = s.activity.snapshot();
  const listing = await s.watch?.listing().catch(() => undefined);
  const pair = s.tls?.current();
  const claimedCogs = a.claims.filter((c) => c.status === "mined").reduce((sum, c) => sum + c.amountCogs, 0n);
  return {
    at: new Date().toISOString(),
    daemon: {
      organization_id: s.config.organization_id,
      service_id: s.config.service_id,
      group: s.ctx?.group.groupName ?? s.config.daemon_group_name,
      version: VERSION,
      started_at: s.startedAt.toISOString(),
    },
    health: s.monitor.states(),
    calls: { ...a.calls, inFlight: s.inFlight() },
    earnings: { earnedCogs: a.earnedCogs, unclaimedCogs: listing?.unclaimedCogs ?? 0n, claimedCogs },
    ...(listing?.currentBlock !== undefined ? { currentBlock: listing.currentBlock } : {}),
    channels: listing?.channels.slice(0, MAX_CHANNEL_ROWS) ?? [],
    claims: a.claims,
    refusals: a.refusals,
    ...(pair
      ? { tls: { source: s.tls?.source() ?? "file", notAfter: pair.notAfter.toISOString(), names: [...pair.names] } }
      : {}),
  };
}

/** Undefined when `admin_endpoint` is unset. */
export async function startAdmin(
  s: SnapshotSources & { metrics: DaemonMetrics; log: Logger },
): Promise<AdminServer | undefined> {
  if (!s.config.admin_endpoint) return undefined;
  const listen = parseHostPort(s.config.admin_endpoint);
  if (!listen) return undefined; // the config check has refused it already
  const dashboard = s.config.dashboard_enabled
    ? {
        snapshot: () => dashboardSnapshot(s),
        events: (listener: () => void) => s.activity.onChange(listener),
      }
    : undefined;
  const app = adminApp({
    ...(s.config.admin_token !== undefined ? { token: s.config.admin_token } : {}),
    ...(dashboard ? { dashboard } : {}),
    metrics: () => s.metrics.render(),
  });
  const server = await startAdminServer({ host: listen.host, port: listen.port, app });
  s.log.info("admin listener ready", {
    endpoint: `${listen.host}:${server.port}`,
    dashboard: s.config.dashboard_enabled ? "/dashboard/" : "off",
    token: s.config.admin_token !== undefined,
  });
  return server;
}
