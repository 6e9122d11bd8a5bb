/**
 * Auto-claim inside `serve` (opt-in `auto_claim.*`): periodically claims channels that expire soon, and
 * optionally any channel whose unclaimed amount passed a threshold, through the same code path as
 * `snetd claim`. Runs never overlap; every claim is logged with its transaction hash.
 */
import type { Logger } from "../ops/log.ts";
import { type ClaimDeps, type ClaimOutcome, type ClaimSelection, runClaims } from "./claimer.ts";

export interface AutoClaimOptions {
  intervalMs: number;
  expiringWithin: bigint;
  minAmount?: bigint;
  /** Each outcome of a round (metrics, the dashboard's recent claims). */
  onOutcome?: (outcome: ClaimOutcome) => void;
}

export function startAutoClaim(deps: ClaimDeps, opts: AutoClaimOptions, log: Logger): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  let stopped = false;
  const round = async (selection: ClaimSelection) => {
    const report = await runClaims({ ...deps, progress: (m) => log.debug(`auto-claim: ${m}`) }, selection);
    for (const o of report.outcomes) {
      opts.onOutcome?.(o);
      if (o.status === "claimed")
        log.info("auto-claim: claimed", { channel_id: o.channelId, nonce: o.nonce, amount: o.amount, tx: o.tx });
      else if (o.status === "already-claimed")
        log.info("auto-claim: already claimed on-chain", { channel_id: o.channelId, nonce: o.nonce, amount: o.amount });
      else if (o.status === "failed")
        log.error("auto-claim: claim failed", {
          channel_id: o.channelId,
          nonce: o.nonce,
          amount: o.amount,
          reason: o.reason,
          tx: o.tx,
        });
    }
  };
  const tick = () => {
    if (running || stopped) return;
    running = (async () => {
      await round({ expiringWithin: opts.expiringWithin });
      if (opts.minAmount !== undefined) await round({ minAmount: opts.minAmount });
    })()
      .catch((err) =>
        log.error("auto-claim: round failed, will retry", { error: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref?.();
  setTimeout(tick, 1000).unref?.();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
