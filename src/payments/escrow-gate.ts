/**
 * Admission of escrow-paid calls (docs/protocol/payments.md). One in-flight call per channel (slot), no chain RPC
 * in steady state, and exactly one store transaction per successful call: the commit of the new
 * authorised amount, conditioned on the record version read at admission.
 */
import type { BlockSource } from "../chain/mpe.ts";
import type { Admission } from "../core/admission.ts";
import type { ChannelState } from "../core/channel.ts";
import { Code, SnetError } from "../core/errors.ts";
import { chainMayKnowBetter, checkEscrow } from "../core/escrow.ts";
import { userNotAllowed } from "../core/messages/operations.ts";
import { channelBusy, paymentChannelNotFound, paymentNotCharged, paymentNotStored } from "../core/messages/payments.ts";
import { bytesEqual } from "../core/numbers.ts";
import type { EscrowPayment } from "../core/payment-headers.ts";
import { type Address, type SignerRecovery, checksumAddress, claimMessage, recoverSigner } from "../core/signatures.ts";
import { type Operation, StoreUnavailableError } from "../store/contract.ts";
import type { Keys } from "../store/records.ts";
import type { ChannelBook, LoadedChannel } from "./channel-book.ts";
import type { PayerLimit } from "./payer-limit.ts";
import type { ChannelSlots } from "./slots.ts";

export interface EscrowDeps {
  mpe: Address;
  book: ChannelBook;
  slots: ChannelSlots;
  keys: Keys;
  blocks: BlockSource;
  recovery: SignerRecovery;
  expirationThreshold: bigint;
  /** Price of a method path; throws INTERNAL when the pricing does not define it. */
  price(path: string): bigint;
  /** Optional allow-list of signers (allowed_user_flag). */
  allowedSigners?: ReadonlySet<Address>;
  /** Per-payer and per-channel rate limits, taken once the payment is verified. */
  limit?: PayerLimit;
}

/** Recovery failures of any kind mean "not a valid payment signature" for escrow. */
export function paymentSigner(recovery: SignerRecovery, mpe: Address, p: EscrowPayment): Address | undefined {
  try {
    return recoverSigner(recovery, claimMessage(mpe, p.channelId, p.nonce, p.amount), p.signature);
  } catch {
    return undefined;
  }
}

const FENCE_ATTEMPTS = 3;
const FENCE_BUDGET_MS = 5000;

/**
 * Whether a commit whose answer was lost (the store failed mid-request) was applied.
 * A fence — the record rewritten unchanged iff still at the version read at admission, releasing the
 * slot — makes the answer final: the lost commit compares on that version too, so it cannot apply after
 * the fence. While this call holds the slot nothing else writes the record, so when the version has
 * moved the record itself says whose write moved it: the lost commit's (our amount and signature) or an
 * earlier fence attempt's whose answer was lost too (the admitted amount). Leader elections make such
 * failures come in bursts, hence a few attempts; "unknown" when none gets an answer.
 */
async function lostCommitOutcome(book: ChannelBook, id: bigint, accepted: LoadedChannel, next: ChannelState, releaseOps: readonly Operation[]): Promise<"applied" | "not applied" | "unknown"> {
  const started = Date.now();
  for (let attempt = 1; attempt <= FENCE_ATTEMPTS && Date.now() - started < FENCE_BUDGET_MS; attempt++) {
    try {
      if (await book.commit(id, accepted.version, accepted.state, { ops: releaseOps })) return "not applied";
      const now = (await book.load(id))?.state;
      if (!now || now.nonce !== next.nonce) return "unknown";
      if (now.authorisedAmount === next.authorisedAmount && now.signature && next.signature && bytesEqual(now.signature, next.signature)) return "applied";
      if (now.authorisedAmount === accepted.state.authorisedAmount) return "not applied";
      return "unknown";
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return "unknown";
}

/** Admits an escrow payment: validates it under the channel's slot; `settle` commits it iff the service succeeded. */
export async function admitEscrow(d: EscrowDeps, path: string, payment: EscrowPayment): Promise<Admission> {
  const id = payment.channelId;
  const signer = paymentSigner(d.recovery, d.mpe, payment);
  if (signer && d.allowedSigners && !d.allowedSigners.has(signer)) throw userNotAllowed();
  const slot = await d.slots.acquire(d.keys.slot(id));
  if (!slot) throw channelBusy(id);
  try {
    let loaded = await d.book.load(id);
    if (!loaded) throw paymentChannelNotFound(id);
    const check = async () =>
      checkEscrow({
        channel: loaded!.state,
        payment,
        signer,
        head: await d.blocks.head(),
        expirationThreshold: d.expirationThreshold,
        price: d.price(path),
      });
    let failed = await check();
    if (failed && chainMayKnowBetter(failed.failure, payment.nonce, loaded.state.nonce)) {
      loaded = (await d.book.load(id, { refreshFromChain: true })) ?? loaded;
      failed = await check();
    }
    if (failed) throw failed.error;
    d.limit?.({ payer: loaded.state.sender, channel: id });

    const accepted = loaded;
    return {
      setHeaders: { "snet-user-address": checksumAddress(accepted.state.sender) },
      dropHeaders: [],
      earnedCogs: payment.amount - accepted.state.authorisedAmount,
      async settle(ok) {
        let slotFreed = false;
        try {
          if (!ok) return undefined;
          const next = { ...accepted.state, authorisedAmount: payment.amount, signature: payment.signature };
          try {
            slotFreed = await d.book.commit(id, accepted.version, next, { ops: slot.releaseOps });
          } catch (err) {
            if (!(err instanceof SnetError && err.code === Code.UNAVAILABLE)) throw err;
            // A commit the store refused or never sent did not apply; only a lost answer needs the fence.
            if (err.cause instanceof StoreUnavailableError && err.cause.outcome === "not-applied") return paymentNotCharged(err);
            const outcome = await lostCommitOutcome(d.book, id, accepted, next, slot.releaseOps);
            slotFreed = outcome !== "unknown";
            if (outcome === "applied") return undefined;
            // The store said "the outcome is unknown"; the fence has just settled it.
            if (outcome === "not applied") return paymentNotCharged(err);
            throw err;
          }
          // Only a replica whose slot lease expired mid-call can lose this race; the service ran, the
          // payment did not count, and the client may send the same signature again.
          return slotFreed ? undefined : paymentNotStored();
        } catch (err) {
          return paymentNotStored(err);
        } finally {
          // A commit or fence that went through released the slot in the store; otherwise the store is told.
          await slot.release({ committed: slotFreed });
        }
      },
    };
  } catch (err) {
    await slot.release();
    throw err;
  }
}
