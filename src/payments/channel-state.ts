/**
 * GetChannelState (docs/protocol/payments.md): what a stateless client needs to sign its next payment,
 * including the last payment of the previous nonce while a claim of it is in flight.
 */
import type { BlockSource } from "../chain/mpe.ts";
import { channelNotFound, stateChainUnreadable, stateOnlyForParties } from "../core/messages/payments.ts";
import { incorrectSignatureLength } from "../core/messages/requests.ts";
import { type Address, channelStateMessage, type SignerRecovery } from "../core/signatures.ts";
import type { ChannelBook } from "./channel-book.ts";
import { requestSigner, requireFreshBlock } from "./request-auth.ts";

export interface ChannelStateDeps {
  mpe: Address;
  book: ChannelBook;
  blocks: BlockSource;
  recovery: SignerRecovery;
  /** Prepaid counters of a channel, when prepaid is enabled. */
  prepaid?: (id: bigint) => Promise<{ planned: bigint; used: bigint }>;
}

export interface ChannelStateRequest {
  channelId: bigint;
  currentBlock: bigint;
  signature: Uint8Array;
}

export interface ChannelStateAnswer {
  nonce: bigint;
  /** The last accepted payment at `nonce`, absent before the first one. */
  signed?: { amount: bigint; signature: Uint8Array };
  /** The claimed payment of `nonce − 1` while the chain has not mined its claim. */
  oldNonce?: { amount: bigint; signature: Uint8Array };
  prepaid?: { planned: bigint; used: bigint };
}

/** Answers a signed state request from the channel's signer, sender or recipient. */
export async function readChannelState(d: ChannelStateDeps, req: ChannelStateRequest): Promise<ChannelStateAnswer> {
  const id = req.channelId;
  if (req.signature.length === 0) throw incorrectSignatureLength();
  const signer = requestSigner(d.recovery, channelStateMessage(d.mpe, id, req.currentBlock), req.signature);
  await requireFreshBlock(d.blocks, req.currentBlock);
  // The channel book re-reads the chain for channels an MPE event (or a restart) made stale, so a claim
  // mined without StartClaim moves the reported nonce on without a chain RPC per state query.
  const loaded = await d.book.load(id);
  if (!loaded) throw channelNotFound(id);
  const { state } = loaded;
  if (signer !== state.signer && signer !== state.sender && signer !== state.recipient) throw stateOnlyForParties();
  const answer: ChannelStateAnswer = { nonce: state.nonce };
  if (state.authorisedAmount > 0n && state.signature)
    answer.signed = { amount: state.authorisedAmount, signature: state.signature };
  if (state.nonce > 0n) {
    const old = (await d.book.claimsOf(id)).find((c) => c.payment.nonce === state.nonce - 1n);
    if (old) {
      // Only while the chain has not mined the claim: afterwards the chain value already excludes it.
      const chain = await d.book.readChain(id).catch((err: unknown) => {
        throw stateChainUnreadable(err);
      });
      if (chain && chain.nonce < state.nonce)
        answer.oldNonce = { amount: old.payment.amount, signature: old.payment.signature };
    }
  }
  if (d.prepaid) answer.prepaid = await d.prepaid(id);
  return answer;
}
