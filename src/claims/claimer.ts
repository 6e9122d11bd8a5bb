/**
 * The whole claim flow (protocol/payments.md#treasurer-flow), resumable at every step:
 * 1. payments already started (in progress: an interrupted run, snet-cli, auto-claim) are submitted first;
 * 2. newly selected channels are started, then claimed on-chain in batches with `multiChannelClaim`
 *    (simulated first, falling back to one `channelClaim` per channel);
 * 3. receipts are awaited and the on-chain nonce confirms each claim.
 * A run killed anywhere leaves the payment "in progress" in the daemon's store, so the next run finishes
 * it; a claim mined twice is impossible because a mined claim bumps the channel nonce and invalidates the
 * signature, and a payment whose nonce the chain already passed is reported, never sent again.
 * This file selects and orders; sending the transactions and settling each payment is claim-transactions.ts.
 */
import { mpeAbi } from "../chain/mpe.ts";
import type { PaymentInClaim } from "../core/channel.ts";
import type { ClaimablePayment, UnclaimedChannel } from "../payments/treasury.ts";
import {
  type ChainNonce,
  type ClaimChain,
  type ClaimOutcome,
  oneLine,
  outcome,
  submitAll,
} from "./claim-transactions.ts";

export type { ClaimOutcome } from "./claim-transactions.ts";

/** Where claims are started: the running daemon's control service, or the store in this process. */
export interface TreasurySource {
  inProgress(): Promise<ClaimablePayment[]>;
  unclaimed(): Promise<UnclaimedChannel[]>;
  startClaims(ids: bigint[]): Promise<PaymentInClaim[]>;
}

export interface ClaimSelection {
  all?: boolean;
  channelIds?: bigint[];
  /** Channels whose expiration is within this many blocks of the head. */
  expiringWithin?: bigint;
  /** Channels whose unclaimed amount is at least this many cogs. */
  minAmount?: bigint;
}

export interface ClaimDeps extends ClaimChain {
  source: TreasurySource;
  dryRun?: boolean;
  progress?: (message: string) => void;
}

export interface ClaimReport {
  outcomes: ClaimOutcome[];
  /** Sum of the "claimed" outcomes: what this run moved. */
  claimedAmount: bigint;
}

/**
 * The channels a selection names. Criteria combine with AND; no criterion selects nothing (a run without
 * selection only finishes started claims).
 *
 * @example
 * selectChannels(list, { expiringWithin: 50n, minAmount: 100n }, head) // expiring soon AND ≥ 100 cogs
 */
export function selectChannels(
  list: readonly UnclaimedChannel[],
  sel: ClaimSelection,
  head: bigint,
): UnclaimedChannel[] {
  const any =
    sel.all === true || !!sel.channelIds?.length || sel.expiringWithin !== undefined || sel.minAmount !== undefined;
  if (!any) return [];
  return list.filter((c) => {
    if (c.amount <= 0n) return false;
    if (sel.channelIds?.length && !sel.channelIds.includes(c.channelId)) return false;
    if (sel.expiringWithin !== undefined && c.expiration > head + sel.expiringWithin) return false;
    if (sel.minAmount !== undefined && c.amount < sel.minAmount) return false;
    return true;
  });
}

/** One claim run in the order above: every payment it started or submitted is reported with its outcome. */
export async function runClaims(d: ClaimDeps, sel: ClaimSelection): Promise<ClaimReport> {
  const say = d.progress ?? (() => {});
  const outcomes: ClaimOutcome[] = [];
  const chainNonce: ChainNonce = async (id, blockTag = "latest") =>
    // channels(id) returns (nonce, sender, …) per the packaged ABI, which is not literal-typed.
    (
      (await d.publicClient.readContract({
        address: d.mpe,
        abi: mpeAbi,
        functionName: "channels",
        args: [id],
        blockTag,
      })) as readonly [bigint]
    )[0];

  // 1. Started claims first (snet-cli's order): they keep the daemon's nonce ahead of the chain's.
  const inProgress = await d.source.inProgress();
  if (d.dryRun) {
    for (const p of inProgress) outcomes.push(outcome(p, "planned", { reason: "resubmit started claim" }));
  } else if (inProgress.length) {
    say(`${inProgress.length} claim(s) already started; submitting them first`);
    outcomes.push(...(await submitAll(d, inProgress, chainNonce, say)));
  }
  // Channels whose started claim is still not on-chain: a new claim must wait for the chain nonce.
  const waiting = new Set(
    (d.dryRun ? inProgress : outcomes.filter((o) => o.status === "failed")).map((o) => o.channelId),
  );
  const submitted = new Set(inProgress.map((p) => `${p.channelId}/${p.nonce}`));

  // 2. Newly selected channels.
  const head = await d.publicClient.getBlockNumber({ cacheTime: 0 });
  const selected = selectChannels(await d.source.unclaimed(), sel, head);
  const startable: UnclaimedChannel[] = [];
  for (const c of selected) {
    const onChain = await chainNonce(c.channelId);
    if (waiting.has(c.channelId) || onChain < c.nonce) {
      outcomes.push(
        outcome(c, "skipped", {
          reason: `an earlier claim of this channel is not on-chain yet (chain nonce ${onChain})`,
        }),
      );
      continue;
    }
    // onChain > listed nonce: the chain already passed this payment. Starting it anyway moves the daemon
    // to the next nonce (so it stops listing it); submitAll then reports it without sending anything.
    startable.push(c);
  }
  if (d.dryRun) {
    for (const c of startable) outcomes.push(outcome(c, "planned"));
    return { outcomes, claimedAmount: 0n };
  }
  let started: PaymentInClaim[] = [];
  if (startable.length) {
    try {
      started = await d.source.startClaims(startable.map((c) => c.channelId));
    } catch (err) {
      // Some may have started before the failure: whatever is in progress now is ours to submit.
      const reason = `could not start the claim: ${oneLine(err instanceof Error ? err.message : String(err))}`;
      const now = await d.source.inProgress();
      started = now.filter(
        (p) => startable.some((c) => c.channelId === p.channelId) && !submitted.has(`${p.channelId}/${p.nonce}`),
      );
      for (const c of startable)
        if (!started.some((p) => p.channelId === c.channelId)) outcomes.push(outcome(c, "failed", { reason }));
    }
    if (started.length) say(`started ${started.length} claim(s)`);
    outcomes.push(...(await submitAll(d, started, chainNonce, say)));
  }
  // Let the treasury drop the records the chain has passed (GetListInProgress cleans up).
  if (inProgress.length || started.length) await d.source.inProgress().catch(() => []);
  const claimedAmount = outcomes.filter((o) => o.status === "claimed").reduce((a, o) => a + o.amount, 0n);
  return { outcomes, claimedAmount };
}
