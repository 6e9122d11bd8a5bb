/**
 * The whole claim flow (payments.md §5), resumable at every step: payments already started (in progress)
 * are submitted first; newly selected channels are started, then claimed on-chain in batches with
 * `multiChannelClaim` (simulated first, falling back to one `channelClaim` per channel), receipts are
 * awaited, and on-chain nonces confirm each claim. A run killed anywhere leaves the payment "in
 * progress" in the daemon's store, so the next run finishes it; a claim mined twice is impossible
 * because a mined claim bumps the channel nonce and invalidates the signature.
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
  claimedAmount: bigint;
}

function claimArgs(p: PaymentInClaim) {
  const sig = p.signature;
  return {
    v: ((sig[64] as number) % 27) + 27,
    r: bytesToHex(sig.subarray(0, 32)) as `0x${string}`,
    s: bytesToHex(sig.subarray(32, 64)) as `0x${string}`,
  };
}

export function selectChannels(list: readonly UnclaimedChannel[], sel: ClaimSelection, head: bigint): UnclaimedChannel[] {
  return list.filter((c) => {
    if (sel.channelIds?.length && !sel.channelIds.includes(c.channelId)) return false;
    if (sel.expiringWithin !== undefined && !(c.expiration <= head + sel.expiringWithin)) return false;
    if (sel.minAmount !== undefined && c.amount < sel.minAmount) return false;
    return sel.all || !!sel.channelIds?.length || sel.expiringWithin !== undefined || sel.minAmount !== undefined;
  });
}

export async function runClaims(d: ClaimDeps, sel: ClaimSelection): Promise<ClaimReport> {
  const say = d.progress ?? (() => {});
  const outcomes: ClaimOutcome[] = [];
  const chainNonce = async (id: bigint) =>
    ((await d.publicClient.readContract({ address: d.mpe, abi: mpeAbi, functionName: "channels", args: [id] })) as readonly [bigint])[0];

  const inProgress = await d.source.inProgress();
  if (inProgress.length) say(`${inProgress.length} claim(s) already started; submitting them first`);
  const head = await d.publicClient.getBlockNumber();
  const selected = selectChannels(await d.source.unclaimed(), sel, head);
  const busy = new Set(inProgress.map((p) => p.channelId));
  const startable: UnclaimedChannel[] = [];
  for (const c of selected) {
    // The chain must be at the payment's nonce, else an earlier claim of this channel is not mined yet.
    if (busy.has(c.channelId) || (await chainNonce(c.channelId)) !== c.nonce) {
      outcomes.push({ channelId: c.channelId, nonce: c.nonce, amount: c.amount, status: "skipped", reason: "an earlier claim of this channel is not mined yet" });
      continue;
    }
    startable.push(c);
  }
  if (d.dryRun) {
    for (const p of inProgress) outcomes.push({ channelId: p.channelId, nonce: p.nonce, amount: p.amount, status: "planned", reason: "resubmit started claim" });
    for (const c of startable) outcomes.push({ channelId: c.channelId, nonce: c.nonce, amount: c.amount, status: "planned" });
    return { outcomes, claimedAmount: 0n };
  }
  const started = startable.length ? await d.source.startClaims(startable.map((c) => c.channelId)) : [];
  if (started.length) say(`started ${started.length} claim(s)`);
  const toSubmit: PaymentInClaim[] = [...inProgress, ...started];

  for (let i = 0; i < toSubmit.length; i += d.batchSize) {
    const batch = toSubmit.slice(i, i + d.batchSize);
    say(`submitting claims ${i + 1}–${i + batch.length} of ${toSubmit.length}`);
    outcomes.push(...(await submitBatch(d, batch, chainNonce, say)));
  }
  // Let the treasury drop records the chain has passed (GetListInProgress cleans up).
  if (toSubmit.length) await d.source.inProgress().catch(() => []);
  const claimedAmount = outcomes.filter((o) => o.status === "claimed").reduce((a, o) => a + o.amount, 0n);
  return { outcomes, claimedAmount };
}

async function submitBatch(
  d: ClaimDeps,
  batch: PaymentInClaim[],
  chainNonce: (id: bigint) => Promise<bigint>,
  say: (m: string) => void,
): Promise<ClaimOutcome[]> {
  const out: ClaimOutcome[] = [];
  // A payment whose nonce the chain already passed was claimed by an earlier run: nothing to send.
  const pending: PaymentInClaim[] = [];
  for (const p of batch) {
    if ((await chainNonce(p.channelId)) > p.nonce) out.push({ channelId: p.channelId, nonce: p.nonce, amount: p.amount, status: "already-claimed" });
    else pending.push(p);
  }
  if (pending.length === 0) return out;

  const confirm = async (p: PaymentInClaim, tx: `0x${string}`): Promise<ClaimOutcome> => {
    const base = { channelId: p.channelId, nonce: p.nonce, amount: p.amount, tx };
    return (await chainNonce(p.channelId)) > p.nonce ? { ...base, status: "claimed" } : { ...base, status: "failed", reason: "the chain nonce did not move" };
  };

  if (pending.length > 1) {
    const args = pending.map(claimArgs);
    try {
      const { request } = await d.publicClient.simulateContract({
        account: d.wallet.account,
        address: d.mpe,
        abi: mpeAbi,
        functionName: "multiChannelClaim",
        args: [
          pending.map((p) => p.channelId),
          pending.map((p) => p.amount),
          pending.map((p) => p.amount),
          pending.map(() => false),
          args.map((a) => a.v),
          args.map((a) => a.r),
          args.map((a) => a.s),
        ],
      });
      const tx = await d.wallet.writeContract(request);
      say(`multiChannelClaim ${tx} sent, waiting for the receipt`);
      const receipt = await d.publicClient.waitForTransactionReceipt({ hash: tx });
      if (receipt.status === "success") {
        for (const p of pending) out.push(await confirm(p, tx));
        return out;
      }
      say(`multiChannelClaim ${tx} reverted; claiming one channel at a time`);
    } catch (err) {
      say(`multiChannelClaim would fail (${shortError(err)}); claiming one channel at a time`);
    }
  }
  for (const p of pending) {
    const a = claimArgs(p);
    try {
      const { request } = await d.publicClient.simulateContract({
        account: d.wallet.account,
        address: d.mpe,
        abi: mpeAbi,
        functionName: "channelClaim",
        args: [p.channelId, p.amount, p.amount, a.v, a.r, a.s, false],
      });
      const tx = await d.wallet.writeContract(request);
      say(`channelClaim of channel ${p.channelId} sent: ${tx}`);
      const receipt = await d.publicClient.waitForTransactionReceipt({ hash: tx });
      out.push(receipt.status === "success" ? await confirm(p, tx) : { channelId: p.channelId, nonce: p.nonce, amount: p.amount, tx, status: "failed", reason: "transaction reverted" });
    } catch (err) {
      // Mined meanwhile by a concurrent run? Then it is not a failure.
      if ((await chainNonce(p.channelId).catch(() => p.nonce)) > p.nonce) out.push({ channelId: p.channelId, nonce: p.nonce, amount: p.amount, status: "already-claimed" });
      else out.push({ channelId: p.channelId, nonce: p.nonce, amount: p.amount, status: "failed", reason: shortError(err) });
    }
  }
  return out;
}
