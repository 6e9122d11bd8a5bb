/**
 * The channels worth claiming, looked at on a timer: their unclaimed total for the metrics, the rows of
 * the dashboard, and — when auto-claim is off — an alert for each one that expires within
 * `alerts_channel_expiry_blocks` (the alerter sends one per channel and expiration). The dashboard reads
 * the latest listing, refreshed when older than a couple of seconds, so a paid call shows up quickly
 * without a store scan per page view.
 */
import type { Alerter } from "../ops/alerts.ts";
import type { ChannelRow } from "../ops/dashboard/snapshot.ts";
import type { Logger } from "../ops/log.ts";
import type { DaemonMetrics } from "../ops/metrics.ts";
import type { PaymentContext } from "./payment-context.ts";

export interface ChannelListing {
  channels: ChannelRow[];
  unclaimedCogs: bigint;
  currentBlock?: bigint;
}

export interface ChannelWatch {
  /** The latest listing, refreshed first when older than `maxAgeMs`. */
  listing(maxAgeMs?: number): Promise<ChannelListing>;
  /** Forgets the latest listing (a call was paid): the next `listing` reads the store. */
  invalidate(): void;
  /** Looks now: metrics and expiry alerts. */
  check(): Promise<ChannelListing>;
  stop(): void;
}

export interface ChannelWatchOptions {
  ctx: PaymentContext;
  intervalMs: number;
  /** Alert when a channel expires within this many blocks; 0 or auto-claim on = no alerts. */
  alertWithinBlocks: bigint;
  alerts?: Alerter;
  metrics?: DaemonMetrics;
  log: Logger;
}

/** Starts looking every `intervalMs`. */
export function watchChannels(o: ChannelWatchOptions): ChannelWatch {
  let last: { at: number; value: ChannelListing } | undefined;
  let running: Promise<ChannelListing> | undefined;

  const read = async (): Promise<ChannelListing> => {
    const states = await o.ctx.book.list();
    const channels: ChannelRow[] = states
      .filter((c) => c.authorisedAmount > 0n)
      .map((c) => ({
        id: c.channelId,
        sender: c.sender,
        unclaimedCogs: c.authorisedAmount,
        expiration: c.expiration,
        nonce: c.nonce,
      }))
      .sort((a, b) => (a.expiration < b.expiration ? -1 : a.expiration > b.expiration ? 1 : 0));
    const unclaimedCogs = channels.reduce((sum, c) => sum + c.unclaimedCogs, 0n);
    let currentBlock: bigint | undefined;
    try {
      currentBlock = await o.ctx.blocks.head();
    } catch {
      // The chain's own probe reports it; the listing is still worth showing.
    }
    o.metrics?.unclaimed(unclaimedCogs, channels.length);
    const value: ChannelListing = { channels, unclaimedCogs, ...(currentBlock !== undefined ? { currentBlock } : {}) };
    last = { at: Date.now(), value };
    return value;
  };

  const refresh = () => (running ??= read().finally(() => (running = undefined)));

  const check = async () => {
    const value = await refresh();
    const head = value.currentBlock;
    if (o.alerts && o.alertWithinBlocks > 0n && head !== undefined) {
      for (const c of value.channels) {
        if (c.expiration - head <= o.alertWithinBlocks) {
          o.alerts.channelNearExpiry({
            channelId: c.id,
            sender: c.sender,
            unclaimedCogs: c.unclaimedCogs,
            expiration: c.expiration,
            currentBlock: head,
          });
        }
      }
    }
    return value;
  };

  const tick = () =>
    void check().catch((err) => o.log.warn("channel watch: cannot list channels", { error: (err as Error).message }));
  const timer = setInterval(tick, o.intervalMs);
  timer.unref?.();
  tick();

  return {
    async listing(maxAgeMs = 2000) {
      if (last && Date.now() - last.at <= maxAgeMs) return last.value;
      return refresh();
    },
    invalidate: () => {
      last = undefined;
    },
    check,
    stop: () => clearInterval(timer),
  };
}
