/**
 * The listener limits from the config (src/config/limit-keys.ts, enforced by transport/limits.ts), and the
 * log of clients cut by them: a flood must not become a flood of log lines, so each limit logs its first cut
 * at once and then at most one line a minute with the count since.
 */
import type { Config } from "../config/schema.ts";
import type { Logger } from "../ops/log.ts";
import type { LimitHit, ListenerLimits } from "../transport/limits.ts";

const LOG_EVERY_MS = 60_000;

/** The config's listener limits. */
export function listenerLimits(config: Config): ListenerLimits {
  return {
    maxConnections: config.max_connections,
    maxConnectionsPerAddress: config.max_connections_per_address,
    headersTimeoutMs: config.headers_timeout,
    idleTimeoutMs: config.idle_timeout,
    maxConcurrentStreams: config.max_concurrent_streams,
    maxHeaderListBytes: config.max_header_list_bytes,
    maxHttpBodyBytes: config.max_http_body_bytes,
  };
}

/** Logs cuts at warn (idle closes at debug: they are routine), throttled per limit. */
export function limitLog(log: Logger, clock: () => number = Date.now): (hit: LimitHit, peer: string) => void {
  const windows = new Map<LimitHit, { until: number; count: number }>();
  return (hit, peer) => {
    if (hit === "idle_timeout") return void log.debug("idle connection closed", { peer });
    const now = clock();
    const w = windows.get(hit);
    if (w && now < w.until) {
      w.count++;
      return;
    }
    windows.set(hit, { until: now + LOG_EVERY_MS, count: 0 });
    log.warn("client cut by a listener limit", {
      limit: hit,
      peer,
      ...(w?.count ? { more_cut_in_the_last_minute: w.count } : {}),
    });
  };
}
