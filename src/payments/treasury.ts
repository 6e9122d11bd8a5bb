/**
 * The treasurer's operations on payment state (payments.md §4), shared by the control service (snet-cli,
 * `snetd claim`) and auto-claim. StartClaim is one atomic store change (pitfalls.md #5): the channel moves
 * to nonce + 1 with nothing authorised, and the claimed payment is recorded, in the same transaction.
 */
import type { PaymentInClaim } from "../core/channel.ts";
import { failedPrecondition, notFound } from "../core/errors.ts";
import { type Keys, decodeChannel, decodeClaim, encodeClaim } from "../store/records.ts";
import type { Store } from "../store/contract.ts";
import { type ChannelBook, storeCall } from "./channel-book.ts";
import type { ChannelSlots } from "./slots.ts";

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
        await storeCall("finish claim", () => d.store.commit({ compare: [{ key: e.key, version: e.version }], then: [{ op: "delete", key: e.key }] }));
        continue;
      }
      if (payment.signature.length !== 65 || payment.amount === 0n) continue;
      out.push({ ...payment, expiration: chain?.expiration ?? 0n });
    }
    return out;
  }

  async function unclaimed(): Promise<UnclaimedChannel[]> {
    const entries = await storeCall("list channels", () => d.store.list(d.keys.channels));
    return entries
      .map((e) => decodeChannel(e.value))
      .filter((c) => c.authorisedAmount > 0n)
      .map((c) => ({ channelId: c.channelId, nonce: c.nonce, amount: c.authorisedAmount, expiration: c.expiration, fullAmount: c.fullAmount, sender: c.sender }));
  }

  /**
   * StartClaim for one channel, under its slot so no paid call is in flight on it. `signedNonce` is the
   * nonce the treasurer's signature covered: checked again under the slot, so a signature for a nonce
   * that a concurrent StartClaim has just retired cannot start the next one (the nonce is the replay guard).
   */
  async function startClaim(channelId: bigint, signedNonce?: bigint): Promise<PaymentInClaim> {
    const slot = await d.slots.acquire(d.keys.slot(channelId));
    if (!slot) throw failedPrecondition(`another transaction on channel: {ID: ${channelId}} is in progress`);
    try {
      const entry = await storeCall("read channel", () => d.store.get(d.keys.channel(channelId)));
      if (!entry) throw notFound(`channel Id ${channelId} was not found on blockchain or storage`);
      const state = decodeChannel(entry.value);
      if (signedNonce !== undefined && state.nonce !== signedNonce) throw failedPrecondition(`another transaction on channel: {ID: ${channelId}} is in progress`);
      if (state.authorisedAmount === 0n || !state.signature) {
        throw failedPrecondition(`authorized amount is zero , hence nothing to claim on the channel Id: ${channelId}`);
      }
      const payment: PaymentInClaim = { channelId, nonce: state.nonce, amount: state.authorisedAmount, signature: state.signature };
      const next = { ...state, nonce: state.nonce + 1n, fullAmount: state.fullAmount - state.authorisedAmount, authorisedAmount: 0n };
      delete (next as { signature?: Uint8Array }).signature;
      const claimKey = d.keys.claim(channelId, state.nonce);
      const ok = await d.book.commit(channelId, entry.version, next, [{ op: "put", key: claimKey, value: encodeClaim(payment) }, ...slot.releaseOps]);
      if (!ok) throw failedPrecondition(`another transaction on channel: {ID: ${channelId}} is in progress`);
      return payment;
    } finally {
      await slot.release();
    }
  }

  /** Current nonce of a stored channel (what StartClaim signatures cover). */
  async function daemonNonce(channelId: bigint): Promise<bigint | undefined> {
    const entry = await storeCall("read channel", () => d.store.get(d.keys.channel(channelId)));
    return entry ? decodeChannel(entry.value).nonce : undefined;
  }

  return { inProgress, unclaimed, startClaim, daemonNonce };
}
export type Treasury = ReturnType<typeof treasury>;
