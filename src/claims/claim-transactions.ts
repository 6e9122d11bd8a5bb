/**
 * The chain side of a claim run (protocol/payments.md#treasurer-flow): started payments sent to the MPE
 * contract in batches with `multiChannelClaim` (simulated first, falling back to one `channelClaim` per
 * channel), and what became of each payment, decided by the channel's nonce on-chain rather than by the
 * receipt alone, so a claim mined by an earlier run or another tool is reported, never sent again.
 * The selection and the order of a run are claimer.ts.
 */
import type { Account, Chain, PublicClient, Transport, WalletClient } from "viem";
import { mpeAbi, shortError } from "../chain/mpe.ts";
import type { PaymentInClaim } from "../core/channel.ts";
import { bytesToHex } from "../core/numbers.ts";
import type { Address } from "../core/signatures.ts";

/** What sending claims needs: the contract, the node that reads and simulates, the key that signs. */
export interface ClaimChain {
  publicClient: PublicClient;
  wallet: WalletClient<Transport, Chain | undefined, Account>;
  mpe: Address;
  batchSize: number;
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

/** The channel's nonce on-chain: in the latest block, or including transactions still in the mempool. */
export type ChainNonce = (id: bigint, blockTag?: "latest" | "pending") => Promise<bigint>;
/** Progress for the person watching the run. */
export type Say = (message: string) => void;

function claimArgs(p: PaymentInClaim) {
  const sig = p.signature;
  // The contract accepts only v = 27/28 (protocol/signatures.md#v-handling); stored signatures may carry 0/1.
  return {
    v: ((sig[64] as number) % 27) + 27,
    r: bytesToHex(sig.subarray(0, 32)) as `0x${string}`,
    s: bytesToHex(sig.subarray(32, 64)) as `0x${string}`,
  };
}

/** One payment's outcome, as reports list it. */
export const outcome = (
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

/** Sends `payments` in batches of `d.batchSize` and reports what became of each one. */
export async function submitAll(
  d: ClaimChain,
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

/** Simulates, signs and sends one claim transaction, then waits for its receipt. */
async function send(
  d: ClaimChain,
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
export const oneLine = (text: string) => text.replace(/:?\s*\n\s*/g, ": ");

/**
 * One batch: payments the chain has passed or that wait in the mempool are reported, the rest go in one
 * `multiChannelClaim`, or in one `channelClaim` each when the batch transaction would fail or reverted.
 */
async function submitBatch(
  d: ClaimChain,
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
