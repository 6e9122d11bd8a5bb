/**
 * The whole claim flow (protocol/payments.md#treasurer-flow), resumable at every step:
 * 1. payments already started (in progress: an interrupted run, snet-cli, auto-claim) are submitted first;
 * 2. newly selected channels are started, then claimed on-chain in batches with `multiChannelClaim`
 *    (simulated first, falling back to one `channelClaim` per channel);
 * 3. receipts are awaited and the on-chain nonce confirms each claim.
 * A run killed anywhere leaves the payment "in progress" in the daemon's store, so the next run finishes
 * it; a claim mined twice is impossible because a mined claim bumps the channel nonce and invalidates the
 * signature, and a payment whose nonce the chain already passed is reported, never sent again.
 */
import type { Account, Chain, PublicClient, Transport, WalletClient } from "viem";
import { mpeAbi, shortError } from "../chain/mpe.ts";
import type { PaymentInClaim } from "../core/channel.ts";
import { bytesToHex } from "../core/numbers.ts";
import type { Address } from "../core/signatures.ts";
import type { ClaimablePayment, UnclaimedChannel } from "../payments/treasury.ts";

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

export interface ClaimDeps {
  source: TreasurySource;
  publicClient: PublicClient;
  wallet: WalletClient<Transport, Chain | undefined, Account>;
  mpe: Address;
  batchSize: number;
  dryRun?: boolean;
  progress?: (message: string) => void;
}

/**
 * - claimed: our transaction moved the money;
 * - already-claimed: the chain had passed the payment's nonce (an earlier run's or another tool's claim);
 * - failed: not on-chain; the payment stays in progress and the next run retries it;
 * - planned: dry run; skipped: an earlier claim of the channel is not on-chain yet.
 */
export interface ClaimOutcome {
  channelId: bigint;
  nonce: bigint;
  amount: bigint;
  status: "claimed" | "already-claimed" | "failed" | "planned" | "skipped";
  tx?: `0x${string}`;
  reason?: string;
}

export interface ClaimReport {
  outcomes: ClaimOutcome[];
  /** Sum of the "claimed" outcomes: what this run moved. */
  claimedAmount: bigint;
}

/** The channel's nonce on-chain: in the latest block, or including transactions still in the mempool. */
type ChainNonce = (id: bigint, blockTag?: "latest" | "pending") => Promise<bigint>;
type Say = (message: string) => void;

function claimArgs(p: PaymentInClaim) {
  const sig = p.signature;
  // The contract accepts only v = 27/28 (protocol/signatures.md#v-handling); stored signatures may carry 0/1.
  return {
    v: ((sig[64] as number) % 27) + 27,
    r: bytesToHex(sig.subarray(0, 32)) as `0x${string}`,
    s: bytesToHex(sig.subarray(32, 64)) as `0x${string}`,
  };
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

const outcome = (
  p: { channelId: bigint; nonce: bigint; amount: bigint },
  status: ClaimOutcome["status"],
  extra: { tx?: `0x${string}`; reason?: string } = {},
): ClaimOutcome => ({
  channelId: p.channelId,
  nonce: p.nonce,
  amount: p.amount,
  status,
  ...extra,
});

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

async function submitAll(
  d: ClaimDeps,
  payments: readonly PaymentInClaim[],
  chainNonce: ChainNonce,
  say: Say,
): Promise<ClaimOutcome[]> {
  const out: ClaimOutcome[] = [];
  for (let i = 0; i < payments.length; i += d.batchSize) {
    const batch = payments.slice(i, i + d.batchSize);
    if (payments.length > batch.length) say(`submitting claims ${i + 1}–${i + batch.length} of ${payments.length}`);
    out.push(...(await submitBatch(d, batch, chainNonce, say)));
  }
  return out;
}

/** What became of one transaction: never sent, mined (success or reverted), or sent with no receipt seen. */
type Sent =
  | { status: "not-sent"; reason: string }
  | { status: "success" | "reverted"; tx: `0x${string}` }
  | { status: "unknown"; tx: `0x${string}`; reason: string };

async function send(
  d: ClaimDeps,
  functionName: "channelClaim" | "multiChannelClaim",
  args: readonly unknown[],
  say: Say,
): Promise<Sent> {
  let tx: `0x${string}`;
  try {
    const { request } = await d.publicClient.simulateContract({
      account: d.wallet.account,
      address: d.mpe,
      abi: mpeAbi,
      functionName,
      args,
    });
    tx = await d.wallet.writeContract(request);
  } catch (err) {
    return { status: "not-sent", reason: oneLine(shortError(err)) };
  }
  say(`${functionName} ${tx} sent, waiting for the receipt`);
  try {
    const receipt = await d.publicClient.waitForTransactionReceipt({ hash: tx });
    return { status: receipt.status === "success" ? "success" : "reverted", tx };
  } catch (err) {
    return {
      status: "unknown",
      tx,
      reason: `no receipt for ${tx} yet (${oneLine(shortError(err))}); the next run finishes it`,
    };
  }
}

/** Where a payment stands: claimed in a mined block, claimed by a transaction still in the mempool, or open. */
async function standing(p: PaymentInClaim, chainNonce: ChainNonce): Promise<"mined" | "pending" | "open"> {
  if ((await chainNonce(p.channelId)) > p.nonce) return "mined";
  return (await chainNonce(p.channelId, "pending").catch(() => p.nonce)) > p.nonce ? "pending" : "open";
}

const PENDING = "a claim transaction for this payment is not mined yet; the next run confirms it";

/** The chain nonce decides: moved past the payment = on-chain (by this transaction or an earlier one). */
async function settle(p: PaymentInClaim, sent: Sent, chainNonce: ChainNonce): Promise<ClaimOutcome> {
  const tx = sent.status === "not-sent" ? {} : { tx: sent.tx };
  let where: Awaited<ReturnType<typeof standing>>;
  try {
    where = await standing(p, chainNonce);
  } catch (err) {
    return outcome(p, "failed", {
      ...tx,
      reason: `cannot read the channel from the chain: ${oneLine(shortError(err))}; the next run finishes it`,
    });
  }
  if (where === "mined") return outcome(p, sent.status === "success" ? "claimed" : "already-claimed", tx);
  if (where === "pending") return outcome(p, "failed", { ...tx, reason: PENDING });
  const reason =
    "reason" in sent
      ? sent.reason
      : sent.status === "reverted"
        ? "transaction reverted"
        : "the chain nonce did not move";
  return outcome(p, "failed", { ...tx, reason });
}

/** viem's short messages span lines; reports and tables want one. */
const oneLine = (text: string) => text.replace(/:?\s*\n\s*/g, ": ");

async function submitBatch(
  d: ClaimDeps,
  batch: readonly PaymentInClaim[],
  chainNonce: ChainNonce,
  say: Say,
): Promise<ClaimOutcome[]> {
  const out: ClaimOutcome[] = [];
  // A payment whose nonce the chain already passed was claimed by an earlier run, and one whose claim
  // waits in the mempool will be: nothing to send for either.
  const open = async (ps: readonly PaymentInClaim[]) => {
    const still: PaymentInClaim[] = [];
    for (const p of ps) {
      const where = await standing(p, chainNonce);
      if (where === "mined") out.push(outcome(p, "already-claimed"));
      else if (where === "pending") out.push(outcome(p, "failed", { reason: PENDING }));
      else still.push(p);
    }
    return still;
  };
  let pending = await open(batch);
  if (pending.length > 1) {
    const args = pending.map(claimArgs);
    const sent = await send(
      d,
      "multiChannelClaim",
      [
        pending.map((p) => p.channelId),
        pending.map((p) => p.amount),
        pending.map((p) => p.amount),
        pending.map(() => false),
        args.map((a) => a.v),
        args.map((a) => a.r),
        args.map((a) => a.s),
      ],
      say,
    );
    // Once a batch transaction is out (mined or not), resending its payments one by one could only race it.
    if (sent.status === "success" || sent.status === "unknown") {
      for (const p of pending) out.push(await settle(p, sent, chainNonce));
      return out;
    }
    say(
      "reason" in sent
        ? `multiChannelClaim would fail (${sent.reason}); claiming one channel at a time`
        : `multiChannelClaim ${sent.tx} reverted; claiming one channel at a time`,
    );
    pending = await open(pending);
  }
  for (const p of pending) {
    const a = claimArgs(p);
    const sent = await send(d, "channelClaim", [p.channelId, p.amount, p.amount, a.v, a.r, a.s, false], say);
    out.push(await settle(p, sent, chainNonce));
  }
  return out;
}
