/**
 * Admission of escrow-paid calls (protocol/payments.md#escrow-order). One in-flight call per channel
 * (slot), no chain RPC in steady state, and exactly one store transaction per successful call: the charge
 * of the new authorised amount, written before the service runs and conditioned on the record version the
 * payment was checked against (escrow-charge.ts). A call the service fails is given back.
 */
import type { BlockSource } from "../chain/mpe.ts";
import type { Admission } from "../core/admission.ts";
import { chainMayKnowBetter, checkEscrow } from "../core/escrow.ts";
import { userNotAllowed } from "../core/messages/operations.ts";
import {
  channelBusy,
  chargeOutcomeUnknown,
  paymentChannelNotFound,
  paymentNotStored,
} from "../core/messages/payments.ts";
import type { EscrowPayment } from "../core/payment-headers.ts";
import { type Address, checksumAddress, claimMessage, recoverSigner, type SignerRecovery } from "../core/signatures.ts";
import type { Keys } from "../store/records.ts";
import type { Background } from "./background.ts";
import type { ChannelBook, CommitExtras } from "./channel-book.ts";
import { outcomeUnknown, restore } from "./escrow-charge.ts";
import type { PayerLimit } from "./payer-limit.ts";
import type { ChannelSlots, SlotOutcome } from "./slots.ts";

export interface EscrowDeps {
  mpe: Address;
  book: ChannelBook;
  slots: ChannelSlots;
  keys: Keys;
  blocks: BlockSource;
  recovery: SignerRecovery;
  expirationThreshold: bigint;
  /** Price of a method path (a dynamic one asks the service); throws when it cannot be had. */
  price(path: string): bigint | Promise<bigint>;
  /** Where a charge whose outcome is unknown is given back, so a stopping daemon waits for it. */
  background?: Background;
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

/** Runs a give-back after its call has ended, tracked when the daemon keeps a tracker. */
function giveBackLater(d: EscrowDeps, task: Promise<unknown>): void {
  if (d.background) d.background.run(task);
  else void task.catch(() => undefined);
}

/** Admits an escrow payment: validates it under the channel's slot and charges it; `settle` gives it back if the service failed. */
export async function admitEscrow(d: EscrowDeps, path: string, payment: EscrowPayment): Promise<Admission> {
  const id = payment.channelId;
  const signer = paymentSigner(d.recovery, d.mpe, payment);
  if (signer && d.allowedSigners && !d.allowedSigners.has(signer)) throw userNotAllowed();
  const slot = await d.slots.acquire(d.keys.slot(id));
  if (!slot) throw channelBusy(id);
  const epoch = slot.epoch;
  /** The slot's compares (and, at the end of its use, its give-up) ride in every commit made under it. */
  const guarded = (keep = false): CommitExtras => ({ ...slot.guard({ keep }), epoch });
  /** How the slot is released if admission fails; while `restoring`, `restore` releases it. */
  let outcome: SlotOutcome = "unchanged";
  let restoring = false;
  try {
    let loaded = await d.book.load(id, { epoch });
    if (!loaded) throw paymentChannelNotFound(id);
    const check = async (price: bigint | undefined) =>
      checkEscrow({
        channel: loaded!.state,
        payment,
        signer,
        head: await d.blocks.head(),
        expirationThreshold: d.expirationThreshold,
        price,
      });
    let failed = await check(undefined);
    if (failed && chainMayKnowBetter(failed.failure, payment.nonce, loaded.state.nonce)) {
      loaded = (await d.book.load(id, { refreshFromChain: true, epoch })) ?? loaded;
      failed = await check(undefined);
    }
    if (failed) throw failed.error;
    d.limit?.({ payer: loaded.state.sender, channel: id });
    // The price last (it is the last rule anyway): a dynamic price costs a call to the service, asked only for
    // a payment that is valid in every other way, so nobody can make snetd call it without paying.
    const priced = await check(await d.price(path));
    if (priced) throw priced.error;

    const accepted = loaded;
    const charged = { ...accepted.state, authorisedAmount: payment.amount, signature: payment.signature };
    outcome = "uncertain";
    let version: bigint | undefined;
    try {
      version = await d.book.commit(id, accepted.version, charged, guarded(true));
    } catch (err) {
      if (!outcomeUnknown(err)) {
        outcome = "unchanged";
        throw err;
      }
      // Maybe stored: the slot stays held until the record is the uncharged one again.
      giveBackLater(
        d,
        restore(d.book, id, accepted.version, accepted.state, charged, { epoch }).then(() => slot.release("uncertain")),
      );
      restoring = true;
      throw chargeOutcomeUnknown(err);
    }
    // Under the slot nobody else writes the record: losing this race means the slot was lost meanwhile.
    if (version === undefined) throw paymentNotStored();
    const chargedAt = version;
    outcome = "committed";
    return {
      setHeaders: { "snet-user-address": checksumAddress(accepted.state.sender) },
      dropHeaders: [],
      earnedCogs: payment.amount - accepted.state.authorisedAmount,
      async settle(ok) {
        if (ok) return void (await slot.release("committed"));
        // Not served, so not charged: the amount goes back, and the same signature pays for the next try.
        let given = false;
        try {
          given = (await d.book.commit(id, chargedAt, accepted.state, guarded())) !== undefined;
        } catch {
          // Refused or unknown: keep trying in the background; the slot is held until the record is settled.
          giveBackLater(
            d,
            restore(d.book, id, chargedAt, accepted.state, charged, { epoch }).then(() => slot.release("uncertain")),
          );
          return undefined;
        }
        // Not given: someone else wrote the record (the slot was lost), and the charge stands.
        await slot.release(given ? "committed" : "uncertain");
        return undefined;
      },
    };
  } catch (err) {
    if (!restoring) await slot.release(outcome);
    throw err;
  }
}
