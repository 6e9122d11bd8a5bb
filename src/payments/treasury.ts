/**
 * The treasurer's operations on payment state (docs/protocol/payments.md), shared by the control service
 * (snet-cli, `snetd claim`) and auto-claim, and the one writer of claim records. StartClaim is one atomic
 * store change: the channel moves to nonce + 1 with nothing authorised, and the claimed payment is
 * recorded, in the same transaction — a claimable payment is never lost between two writes.
 */
import type { PaymentInClaim } from "../core/channel.ts";
import { channelBusy, claimChannelNotFound, nothingToClaim } from "../core/messages/payments.ts";
import type { Store } from "../store/contract.ts";
import { decodeClaim, encodeClaim, type Keys } from "../store/records.ts";
import { type ChannelBook, storeCall } from "./channel-book.ts";
import type { ChannelSlots, SlotOutcome } from "./slots.ts";

export interface TreasuryDeps {
  store: Store;
  keys: Keys;
  book: ChannelBook;
  slots: ChannelSlots;
}

export interface UnclaimedChannel {
  channelId: bigint;
  nonce: bigint;
  amount: bigint;
  expiration: bigint;
  fullAmount: bigint;
  sender: string;
}

export interface ClaimablePayment extends PaymentInClaim {
  /** Current expiration of the channel (0 when unknown). */
  expiration: bigint;
}

/** The treasurer's operations of one payment group. */
export function treasury(d: TreasuryDeps) {
  /** Drops claim records the chain has passed (the claim was mined), returns the rest. */
  async function inProgress(): Promise<ClaimablePayment[]> {
    const entries = await storeCall("list claims", () => d.store.list(d.keys.claims));
    const out: ClaimablePayment[] = [];
    const chainCache = new Map<bigint, Awaited<ReturnType<ChannelBook["readChain"]>>>();
    for (const e of entries) {
      const payment = decodeClaim(e.value);
      let chain = chainCache.get(payment.channelId);
      if (!chainCache.has(payment.channelId)) {
        chain = await d.book.readChain(payment.channelId);
        chainCache.set(payment.channelId, chain);
      }
      if (chain && chain.nonce > payment.nonce) {
        await storeCall("finish claim", () =>
          d.store.commit({ compare: [{ key: e.key, version: e.version }], then: [{ op: "delete", key: e.key }] }),
        );
        continue;
      }
      if (payment.signature.length !== 65 || payment.amount === 0n) continue;
      out.push({ ...payment, expiration: chain?.expiration ?? 0n });
    }
    return out;
  }

  /** Channels with a signed amount not yet claimed. */
  async function unclaimed(): Promise<UnclaimedChannel[]> {
    return (await d.book.list())
      .filter((c) => c.authorisedAmount > 0n)
      .map((c) => ({
        channelId: c.channelId,
        nonce: c.nonce,
        amount: c.authorisedAmount,
        expiration: c.expiration,
        fullAmount: c.fullAmount,
        sender: c.sender,
      }));
  }

  /**
   * StartClaim for one channel, under its slot so no paid call is in flight on it. `signedNonce` is the
   * nonce the treasurer's signature covered: checked again under the slot, so a signature for a nonce
   * that a concurrent StartClaim has just retired cannot start the next one (the nonce is the replay guard).
   */
  async function startClaim(channelId: bigint, signedNonce?: bigint): Promise<PaymentInClaim> {
    const slot = await d.slots.acquire(d.keys.slot(channelId));
    if (!slot) throw channelBusy(channelId);
    let outcome: SlotOutcome = "unchanged";
    try {
      const entry = await d.book.stored(channelId, slot.epoch);
      if (!entry) throw claimChannelNotFound(channelId);
      const { state } = entry;
      if (signedNonce !== undefined && state.nonce !== signedNonce) throw channelBusy(channelId);
      if (state.authorisedAmount === 0n || !state.signature) throw nothingToClaim(channelId);
      const payment: PaymentInClaim = {
        channelId,
        nonce: state.nonce,
        amount: state.authorisedAmount,
        signature: state.signature,
      };
      const next = {
        ...state,
        nonce: state.nonce + 1n,
        fullAmount: state.fullAmount - state.authorisedAmount,
        authorisedAmount: 0n,
      };
      delete (next as { signature?: Uint8Array }).signature;
      const claimKey = d.keys.claim(channelId, state.nonce);
      const guard = slot.guard();
      outcome = "uncertain";
      const ok =
        (await d.book.commit(channelId, entry.version, next, {
          compare: guard.compare,
          ops: [{ op: "put", key: claimKey, value: encodeClaim(payment) }, ...guard.ops],
          epoch: slot.epoch,
        })) !== undefined;
      if (!ok) throw channelBusy(channelId);
      outcome = "committed";
      return payment;
    } finally {
      await slot.release(outcome);
    }
  }

  /** Current nonce of a stored channel (what StartClaim signatures cover). */
  async function daemonNonce(channelId: bigint): Promise<bigint | undefined> {
    return (await d.book.stored(channelId))?.state.nonce;
  }

  return { inProgress, unclaimed, startClaim, daemonNonce };
}
export type Treasury = ReturnType<typeof treasury>;
