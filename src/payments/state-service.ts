/**
 * escrow.PaymentChannelStateService/GetChannelState (wire.md §3.1, payments.md §4): what a stateless
 * client needs to sign its next payment, including the old-nonce fields while a claim is in flight.
 */
import type { BlockSource } from "../chain/mpe.ts";
import { Code, SnetError, invalidArgument, notFound, permissionDenied, unauthenticated } from "../core/errors.ts";
import { bigintToBytes, bytesToBigint } from "../core/numbers.ts";
import { type Address, type SignerRecovery, channelStateMessage, parseSignature, personalDigest } from "../core/signatures.ts";
import { ChannelStateReplySchema, ChannelStateRequestSchema } from "../gen/state_service_pb.ts";
import { type DaemonMethod, unary } from "../transport/daemon-services.ts";
import type { ChannelBook } from "./channel-book.ts";
import { requireFreshBlock } from "./freshness.ts";

export interface StateServiceDeps {
  mpe: Address;
  book: ChannelBook;
  blocks: BlockSource;
  recovery: SignerRecovery;
  /** Prepaid counters of a channel, when prepaid is enabled. */
  prepaid?: (id: bigint) => Promise<{ planned: bigint; used: bigint }>;
}

/** Recovers the signer of a daemon request; malformed → INVALID_ARGUMENT, unrecoverable → UNAUTHENTICATED. */
export function requestSigner(recovery: SignerRecovery, message: Uint8Array, signature: Uint8Array): Address {
  const parsed = parseSignature(signature);
  const signer = recovery.recover(personalDigest(message), parsed);
  if (!signer) throw unauthenticated("incorrect signature");
  return signer;
}

const u64 = (v: bigint) => (v > 0xffffffffffffffffn ? 0xffffffffffffffffn : v);

export function stateService(d: StateServiceDeps): DaemonMethod {
  return unary("/escrow.PaymentChannelStateService/GetChannelState", ChannelStateRequestSchema, ChannelStateReplySchema, async (req) => {
    const id = bytesToBigint(req.channelId, "channel_id");
    if (req.signature.length === 0) throw invalidArgument("incorrect signature length");
    const signer = requestSigner(d.recovery, channelStateMessage(d.mpe, id, req.currentBlock), req.signature);
    await requireFreshBlock(d.blocks, req.currentBlock);
    // The channel book re-reads the chain for channels an MPE event (or a restart) made stale, so a claim
    // mined without StartClaim moves the reported nonce on without a chain RPC per state query.
    const loaded = await d.book.load(id);
    if (!loaded) throw notFound(`channel is not found, channelId: ${id}`);
    const { state } = loaded;
    if (signer !== state.signer && signer !== state.sender && signer !== state.recipient) {
      throw permissionDenied("only channel signer/sender/receiver can get latest channel state");
    }
    const reply: {
      currentNonce: Uint8Array;
      currentSignedAmount?: Uint8Array;
      currentSignature?: Uint8Array;
      oldNonceSignedAmount?: Uint8Array;
      oldNonceSignature?: Uint8Array;
      plannedAmount?: bigint;
      usedAmount?: bigint;
    } = { currentNonce: bigintToBytes(state.nonce) };
    if (state.authorisedAmount > 0n && state.signature) {
      reply.currentSignedAmount = bigintToBytes(state.authorisedAmount);
      reply.currentSignature = state.signature;
    }
    if (state.nonce > 0n) {
      const old = (await d.book.claimsOf(id)).find((c) => c.payment.nonce === state.nonce - 1n);
      if (old) {
        // Only while the chain has not mined the claim: afterwards the chain value already excludes it.
        const chain = await d.book.readChain(id).catch((err: unknown) => {
          throw new SnetError(Code.UNAVAILABLE, "unable to read channel details from blockchain.", { cause: err });
        });
        if (chain && chain.nonce < state.nonce) {
          reply.oldNonceSignedAmount = bigintToBytes(old.payment.amount);
          reply.oldNonceSignature = old.payment.signature;
        }
      }
    }
    if (d.prepaid) {
      const p = await d.prepaid(id);
      reply.plannedAmount = u64(p.planned);
      reply.usedAmount = u64(p.used);
    }
    return reply;
  });
}
