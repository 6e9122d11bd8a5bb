/**
 * Which channels the chain may have changed behind the store's back (protocol/payments.md#reading-a-channel).
 * A channel counts as fresh once read from the chain by this process, and stops being fresh when a
 * ChannelClaim, ChannelSenderClaim, ChannelAddFunds or ChannelExtend log names it. So:
 * - a claim sent on-chain without StartClaim is noticed, and payments at the dead nonce are refused;
 * - after a restart every channel is read from the chain once (what happened while snetd was down);
 * - in steady state a paid call still makes no chain RPC: one getLogs per poll serves every channel.
 */
import type { PublicClient } from "viem";
import type { Address } from "../core/signatures.ts";

/** topic0 of the events that change a channel (protocol/contracts.md#mpe-events); channelId is topic1 in each. */
const CHANGING_EVENTS = new Set([
  "0x77c3504a57863d978ba4c28ea297490f1f4814365f5ed32b35cbf5b695db003c", // ChannelClaim
  "0x592ba8545b0ef2ef56ac54c4db27df2bdbb2a60acc1c5a4ac134eccc20cb8096", // ChannelSenderClaim
  "0xb0e2286f86435d8f98d9cf1c908b693792eb905dd03cd40d2b1d23a3e5311a40", // ChannelAddFunds
  "0xf8d4e64f6b2b3db6aaf38b319e259285a48ecd0c5bc0115c9928aba297c73420", // ChannelExtend
]);

/** Logs fetched per request at most; a daemon far behind catches up in steps. */
const MAX_RANGE = 5_000n;

export interface ChannelFreshness {
  isFresh(id: bigint): boolean;
  /** Take before reading a channel from the chain; pass to markFresh after. */
  readToken(): number;
  /** Marks fresh unless an event for the channel was seen since `token` (the read may predate it). */
  markFresh(id: bigint, token: number): void;
  stop(): void;
}

export function watchChannelEvents(
  client: PublicClient,
  mpe: Address,
  opts: { intervalMs: number; onError?: (err: unknown) => void },
): ChannelFreshness {
  const fresh = new Set<bigint>();
  /** Events processed so far, and the count when each channel was last invalidated. */
  let seen = 0;
  const invalidated = new Map<bigint, number>();
  /**
   * Tokens below this are refused. Taken before the first poll fixed the cursor, a read may show a block
   * older than the cursor, and events in between are never fetched; taken before a failed poll, the read
   * may predate events the outage hid. Starts above the first token so reads before the first poll count
   * for nothing.
   */
  let validFrom = 1;
  let cursor: bigint | undefined;
  let running = false;
  let stopped = false;

  const poll = async () => {
    if (running || stopped) return;
    running = true;
    try {
      const head = await client.getBlockNumber({ cacheTime: 0 });
      // Everything before the first poll is covered by "not fresh until read from the chain" (read after
      // this point: tokens taken earlier are refused).
      if (cursor === undefined) {
        cursor = head;
        validFrom = ++seen;
      }
      let from: bigint = cursor;
      while (from < head) {
        const to: bigint = from + MAX_RANGE < head ? from + MAX_RANGE : head;
        const logs = await client.getLogs({ address: mpe, fromBlock: from + 1n, toBlock: to });
        for (const log of logs) {
          const [topic0, topic1] = log.topics;
          if (topic0 && topic1 && CHANGING_EVENTS.has(topic0.toLowerCase())) {
            const id = BigInt(topic1);
            fresh.delete(id);
            invalidated.set(id, ++seen);
          }
        }
        from = to;
        cursor = to;
      }
    } catch (err) {
      // While the chain is unreachable nothing can be learnt; forget every channel so each is re-read.
      fresh.clear();
      invalidated.clear();
      validFrom = ++seen;
      opts.onError?.(err);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(poll, Math.max(100, opts.intervalMs));
  timer.unref?.();
  void poll();

  return {
    isFresh: (id) => fresh.has(id),
    readToken: () => seen,
    markFresh: (id, token) => {
      if (token >= validFrom && (invalidated.get(id) ?? 0) <= token) fresh.add(id);
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** For tools and tests that want the chain read every time. */
export const neverFresh: ChannelFreshness = {
  isFresh: () => false,
  readToken: () => 0,
  markFresh: () => {},
  stop: () => {},
};
