/**
 * Prepaid (concurrent) calls, the SDKs' default paid path (docs/protocol/payments.md):
 *
 * - GetToken turns a larger signed amount into planned budget P: the signature is stored as the
 *   channel's authorised amount (claimable by the treasurer exactly like escrow) and P += signed −
 *   authorised, in one transaction with the channel record.
 * - a `prepaid-call` carries the bearer token; admission reserves the price in U (prepaid-usage.ts).
 */
import type { BlockSource } from "../chain/mpe.ts";
import type { Admission } from "../core/admission.ts";
import { chainMayKnowBetter, checkEscrow } from "../core/escrow.ts";
import { userNotAllowed } from "../core/messages/operations.ts";
import { channelBusy, channelNotFound, paymentNotStored } from "../core/messages/payments.ts";
import { signedAmountTooLow, tokenOnlyForParties } from "../core/messages/tokens.ts";
import type { EscrowPayment, PrepaidPayment } from "../core/payment-headers.ts";
import type { PrepaidTokens } from "../core/prepaid-token.ts";
import { type Address, checksumAddress, prepaidTokenRequestMessage, type SignerRecovery } from "../core/signatures.ts";
import { backoff } from "../store/prepaid-records.ts";
import type { ChannelBook } from "./channel-book.ts";
import { paymentSigner } from "./escrow-gate.ts";
import type { PayerLimit } from "./payer-limit.ts";
import { giveBack, type PrepaidUsageDeps, plannedChange, readUsage, reserve } from "./prepaid-usage.ts";
import { requestSigner, requireFreshBlock } from "./request-auth.ts";
import type { ChannelSlots, SlotOutcome } from "./slots.ts";

export interface PrepaidDeps extends PrepaidUsageDeps {
  mpe: Address;
  book: ChannelBook;
  slots: ChannelSlots;
  blocks: BlockSource;
  recovery: SignerRecovery;
  expirationThreshold: bigint;
  tokens: PrepaidTokens;
  /** Price of a method path (a dynamic one asks the service); throws when it cannot be had. */
  price(path: string): bigint | Promise<bigint>;
  /** Optional allow-list of claim signers (allowed_user_flag). */
  allowedSigners?: ReadonlySet<Address>;
  /** Per-payer and per-channel rate limits of prepaid calls, taken once the token is verified. */
  limit?: PayerLimit;
}

export interface TokenRequest {
  channelId: bigint;
  currentNonce: bigint;
  signedAmount: bigint;
  claimSignature: Uint8Array;
  currentBlock: bigint;
  signature: Uint8Array;
}

export interface TokenAnswer {
  token: string;
  planned: bigint;
  used: bigint;
}

/** Concurrent prepaid calls move U meanwhile; each lost race re-reads and decides again. */
const GET_TOKEN_ATTEMPTS = 64;

/** GetToken: verifies both signatures and the escrow rules, raises P when more is signed, issues a token. */
export async function getToken(d: PrepaidDeps, req: TokenRequest): Promise<TokenAnswer> {
  const id = req.channelId;
  // The outer signature covers the claim signature and the block.
  const outer = requestSigner(
    d.recovery,
    prepaidTokenRequestMessage(req.claimSignature, req.currentBlock),
    req.signature,
  );
  await requireFreshBlock(d.blocks, req.currentBlock);
  const payment: EscrowPayment = {
    type: "escrow",
    channelId: id,
    nonce: req.currentNonce,
    amount: req.signedAmount,
    signature: req.claimSignature,
  };
  const inner = paymentSigner(d.recovery, d.mpe, payment);
  if (inner && d.allowedSigners && !d.allowedSigners.has(inner)) throw userNotAllowed();

  // The channel record changes here, so no escrow call or StartClaim may be half-way on it.
  const slot = await d.slots.acquire(d.keys.slot(id));
  if (!slot) throw channelBusy(id);
  const epoch = slot.epoch;
  let outcome: SlotOutcome = "unchanged";
  try {
    for (let attempt = 1; ; attempt++) {
      let loaded = await d.book.load(id, { epoch });
      if (!loaded) throw channelNotFound(id);
      const { signer, sender, recipient } = loaded.state;
      if (outer !== signer && outer !== sender && outer !== recipient) throw tokenOnlyForParties();
      // An escrow payment at current_nonce for signed_amount, without the price check.
      const check = async () =>
        checkEscrow({
          channel: loaded!.state,
          payment,
          signer: inner,
          head: await d.blocks.head(),
          expirationThreshold: d.expirationThreshold,
          price: undefined,
        });
      let failed = await check();
      if (failed && chainMayKnowBetter(failed.failure, payment.nonce, loaded.state.nonce)) {
        loaded = (await d.book.load(id, { refreshFromChain: true, epoch })) ?? loaded;
        failed = await check();
      }
      if (failed) throw failed.error;

      const authorised = loaded.state.authorisedAmount;
      if (req.signedAmount < authorised) throw signedAmountTooLow();
      const read = await readUsage(d, id);
      let usage = read.usage;
      if (req.signedAmount > authorised) {
        usage = { ...usage, planned: usage.planned + (req.signedAmount - authorised) };
        const channel = { ...loaded.state, authorisedAmount: req.signedAmount, signature: req.claimSignature };
        const planned = plannedChange(d, id, read, usage);
        const guard = slot.guard();
        outcome = "uncertain";
        const ok =
          (await d.book.commit(id, loaded.version, channel, {
            compare: [planned.compare, ...guard.compare],
            ops: [planned.op, ...guard.ops],
            epoch,
          })) !== undefined;
        outcome = ok ? "committed" : "uncertain";
        if (!ok) {
          if (attempt >= GET_TOKEN_ATTEMPTS) throw paymentNotStored();
          await backoff(attempt);
          continue;
        }
      }
      // signed == authorised with nothing planned: P = 0 makes both SDKs ask for more.
      return { token: await d.tokens.issue(id, sender), planned: usage.planned, used: usage.used };
    }
  } finally {
    await slot.release(outcome);
  }
}

/** Admission of a `prepaid-call`: token, price, then U += price iff U + price ≤ P. */
export async function admitPrepaid(
  d: Pick<PrepaidDeps, "store" | "keys" | "tokens" | "price" | "limit">,
  path: string,
  p: PrepaidPayment,
): Promise<Admission> {
  const id = p.channelId;
  const { user } = await d.tokens.verify(p.token, id);
  d.limit?.({ payer: user, channel: id });
  // After the token: a dynamic price costs a call to the service.
  const price = await d.price(path);
  await reserve(d, id, price);
  return {
    setHeaders: { "snet-user-address": checksumAddress(user) },
    dropHeaders: [],
    earnedCogs: price,
    async settle(ok) {
      if (!ok && price > 0n) await giveBack(d, id, price);
      return undefined;
    },
  };
}
