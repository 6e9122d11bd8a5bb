/**
 * The treasurer's requests (ProviderControlService, docs/protocol/payments.md): snet-cli and `snetd claim`
 * list unclaimed and in-progress payments and start claims. Every request is signed by the group's
 * payment address; list and multi-claim requests are block-stamped.
 */
import type { BlockSource } from "../chain/mpe.ts";
import type { PaymentInClaim } from "../core/channel.ts";
import { claimChannelNotFound, mpeMismatch, nothingToClaim, notPaymentAddress } from "../core/messages/payments.ts";
import {
  type Address,
  checksumAddress,
  isAddress,
  listInProgressMessage,
  listUnclaimedMessage,
  multiClaimMessage,
  type SignerRecovery,
  startClaimMessage,
} from "../core/signatures.ts";
import { requestSigner, requireFreshBlock } from "./request-auth.ts";
import type { ClaimablePayment, Treasury, UnclaimedChannel } from "./treasury.ts";

export interface ProviderControlDeps {
  mpe: Address;
  paymentAddress: Address;
  blocks: BlockSource;
  recovery: SignerRecovery;
  treasury: Treasury;
}

/** A signed, block-stamped treasurer request. */
export interface StampedRequest {
  mpeAddress: string;
  currentBlock: bigint;
  signature: Uint8Array;
}

/** The treasurer's four requests, each authorised before it touches payment state. */
export function providerControl(d: ProviderControlDeps) {
  const checkMpe = (given: string) => {
    if (!isAddress(given) || given.toLowerCase() !== d.mpe) throw mpeMismatch(given);
  };
  const checkSigner = (message: Uint8Array, signature: Uint8Array) => {
    const signer = requestSigner(d.recovery, message, signature);
    if (signer !== d.paymentAddress) throw notPaymentAddress(checksumAddress(signer));
  };

  return {
    /** Channels with a signed amount not yet claimed. */
    async listUnclaimed(req: StampedRequest): Promise<UnclaimedChannel[]> {
      checkMpe(req.mpeAddress);
      checkSigner(listUnclaimedMessage(d.mpe, req.currentBlock), req.signature);
      await requireFreshBlock(d.blocks, req.currentBlock);
      return d.treasury.unclaimed();
    },

    /** Claims started and not yet mined, with the signatures to submit on-chain. */
    async listInProgress(req: StampedRequest): Promise<ClaimablePayment[]> {
      checkMpe(req.mpeAddress);
      checkSigner(listInProgressMessage(d.mpe, req.currentBlock), req.signature);
      await requireFreshBlock(d.blocks, req.currentBlock);
      return d.treasury.inProgress();
    },

    /** StartClaim of one channel; the signature covers the channel's stored nonce. */
    async startClaim(req: { mpeAddress: string; channelId: bigint; signature: Uint8Array }): Promise<PaymentInClaim> {
      checkMpe(req.mpeAddress);
      // An unknown channel is NOT_FOUND before the signature is looked at: the signature covers its nonce.
      const nonce = await d.treasury.daemonNonce(req.channelId);
      if (nonce === undefined) throw claimChannelNotFound(req.channelId);
      checkSigner(startClaimMessage(d.mpe, req.channelId, nonce), req.signature);
      return d.treasury.startClaim(req.channelId, nonce);
    },

    /** StartClaim of several channels: every id is validated before any claim starts. */
    async startClaims(req: StampedRequest & { channelIds: readonly bigint[] }): Promise<PaymentInClaim[]> {
      checkMpe(req.mpeAddress);
      checkSigner(multiClaimMessage(d.mpe, req.channelIds, req.currentBlock), req.signature);
      await requireFreshBlock(d.blocks, req.currentBlock);
      const claimable = new Set((await d.treasury.unclaimed()).map((c) => c.channelId));
      for (const id of req.channelIds) {
        if ((await d.treasury.daemonNonce(id)) === undefined) throw claimChannelNotFound(id);
        if (!claimable.has(id)) throw nothingToClaim(id);
      }
      const payments: PaymentInClaim[] = [];
      // A duplicate id is signed as sent but started once: a second StartClaim of the same channel would
      // fail after the first started and lose the reply.
      for (const id of new Set(req.channelIds)) payments.push(await d.treasury.startClaim(id));
      return payments;
    },
  };
}
export type ProviderControl = ReturnType<typeof providerControl>;
