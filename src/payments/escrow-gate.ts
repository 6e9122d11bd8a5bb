/**
 * Admission of escrow-paid calls (payments.md §3). One in-flight call per channel (slot), no chain RPC
 * in steady state, and exactly one store transaction per successful call: the commit of the new
 * authorised amount, conditioned on the record version read at admission.
 */
import { getAddress } from "viem";
import type { BlockSource } from "../chain/mpe.ts";
import { chainMayKnowBetter, checkEscrow } from "../core/escrow.ts";
import { Code, SnetError, failedPrecondition, internal } from "../core/errors.ts";
import type { ChannelState } from "../core/channel.ts";
import { bytesEqual } from "../core/numbers.ts";
import type { EscrowPayment } from "../core/payment-headers.ts";
import { type Address, type SignerRecovery, claimMessage, recoverSigner } from "../core/signatures.ts";
import type { Keys } from "../store/records.ts";
import type { Admission } from "../transport/proxy.ts";
import type { Operation } from "../store/contract.ts";
import { type ChannelBook, type LoadedChannel, notFound } from "./channel-book.ts";
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
}

/** Recovery failures of any kind mean "not a valid payment signature" for escrow (wire.md §9.2). */
export function paymentSigner(recovery: SignerRecovery, mpe: Address, p: EscrowPayment): Address | undefined {
  try {
    return recoverSigner(recovery, claimMessage(mpe, p.channelId, p.nonce, p.amount), p.signature);
  } catch {
    return undefined;
  }
}

const checksummed = new Map<Address, string>();
export function checksum(address: Address): string {
  let c = checksummed.get(address);
  if (!c) {
    c = getAddress(address);
    if (checksummed.size > 100_000) checksummed.clear();
    checksummed.set(address, c);
  }
  return c;
}

const FENCE_ATTEMPTS = 3;
const FENCE_BUDGET_MS = 5000;

/**
 * Whether a commit whose answer was lost (the store failed mid-request) was applied; pitfalls.md #3.
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
      if (await book.commit(id, accepted.version, accepted.state, releaseOps)) return "not applied";
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

export async function admitEscrow(d: EscrowDeps, path: string, payment: EscrowPayment): Promise<Admission> {
  const id = payment.channelId;
  const signer = paymentSigner(d.recovery, d.mpe, payment);
  if (signer && d.allowedSigners && !d.allowedSigners.has(signer)) {
    throw new SnetError(Code.PERMISSION_DENIED, `signer ${checksum(signer)} is not in allowed_user_addresses`);
  }
  const slot = await d.slots.acquire(d.keys.slot(id));
  if (!slot) throw failedPrecondition(`another transaction on channel: {ID: ${id}} is in progress`);
  try {
    let loaded = await d.book.load(id);
    if (!loaded) throw notFound(id);
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

    const accepted = loaded;
    return {
      setHeaders: { "snet-user-address": checksum(accepted.state.sender) },
      dropHeaders: [],
      async settle(ok) {
        let slotFreed = false;
        try {
          if (!ok) return undefined;
          const next = { ...accepted.state, authorisedAmount: payment.amount, signature: payment.signature };
          try {
            slotFreed = await d.book.commit(id, accepted.version, next, slot.releaseOps);
          } catch (err) {
            if (!(err instanceof SnetError && err.code === Code.UNAVAILABLE)) throw err;
            const outcome = await lostCommitOutcome(d.book, id, accepted, next, slot.releaseOps);
            slotFreed = outcome !== "unknown";
            if (outcome === "applied") return undefined;
            if (outcome === "not applied") {
              // The store's own text says "the outcome is unknown", which the fence has just settled.
              return new SnetError(Code.UNAVAILABLE, "unable to store new payment channel state: the store failed during the commit, so the call was not charged; the same payment may be sent again", { cause: err });
            }
            throw err;
          }
          // Only a replica whose slot lease expired mid-call can lose this race; the service ran, the
          // payment did not count, and the client may send the same signature again.
          return slotFreed ? undefined : internal("unable to store new payment channel state");
        } catch (err) {
          return err instanceof SnetError ? new SnetError(err.code, `unable to store new payment channel state: ${err.message}`) : internal("unable to store new payment channel state", err);
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
