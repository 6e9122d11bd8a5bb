/**
 * escrow.ProviderControlService (wire.md §3.3): the treasurer API snet-cli and `snetd claim` use. Every
 * request is signed by the group's payment address; list and multi-claim requests are block-stamped.
 */
import type { BlockSource } from "../chain/mpe.ts";
import { bigintToBytes, bytesToBigint } from "../core/numbers.ts";
import { Code, SnetError, failedPrecondition, notFound, permissionDenied } from "../core/errors.ts";
import { type Address, type SignerRecovery, isAddress, listInProgressMessage, listUnclaimedMessage, multiClaimMessage, startClaimMessage } from "../core/signatures.ts";
import {
  GetPaymentsListRequestSchema,
  PaymentReplySchema,
  PaymentsListReplySchema,
  StartClaimRequestSchema,
  StartMultipleClaimRequestSchema,
} from "../gen/control_service_pb.ts";
import { type DaemonMethod, unary } from "../transport/daemon-services.ts";
import { checksum } from "./escrow-gate.ts";
import { requireFreshBlock } from "./freshness.ts";
import { requestSigner } from "./state-service.ts";
import type { Treasury } from "./treasury.ts";

export interface ControlDeps {
  mpe: Address;
  paymentAddress: Address;
  blocks: BlockSource;
  recovery: SignerRecovery;
  treasury: Treasury;
}

const PATH = "/escrow.ProviderControlService";

export function controlService(d: ControlDeps): DaemonMethod[] {
  const checkMpe = (given: string) => {
    if (!isAddress(given) || given.toLowerCase() !== d.mpe) {
      throw new SnetError(Code.INVALID_ARGUMENT, `the mpeAddress: ${given} passed does not match to what has been registered`);
    }
  };
  const checkSigner = (message: Uint8Array, signature: Uint8Array) => {
    const signer = requestSigner(d.recovery, message, signature);
    if (signer !== d.paymentAddress) {
      throw permissionDenied(`the address: ${checksum(signer)} does not match to what has been expected / registered`);
    }
  };
  const u = (v: bigint) => bigintToBytes(v);

  return [
    unary(`${PATH}/GetListUnclaimed`, GetPaymentsListRequestSchema, PaymentsListReplySchema, async (req) => {
      checkMpe(req.mpeAddress);
      checkSigner(listUnclaimedMessage(d.mpe, req.currentBlock), req.signature);
      await requireFreshBlock(d.blocks, req.currentBlock);
      const list = await d.treasury.unclaimed();
      // No signature here: snet-cli rejects an unclaimed list that carries one (wire.md §3.3).
      return { payments: list.map((c) => ({ channelId: u(c.channelId), channelNonce: u(c.nonce), signedAmount: u(c.amount), channelExpiry: u(c.expiration) })) };
    }),
    unary(`${PATH}/GetListInProgress`, GetPaymentsListRequestSchema, PaymentsListReplySchema, async (req) => {
      checkMpe(req.mpeAddress);
      checkSigner(listInProgressMessage(d.mpe, req.currentBlock), req.signature);
      await requireFreshBlock(d.blocks, req.currentBlock);
      const list = await d.treasury.inProgress();
      return {
        payments: list.map((p) => ({ channelId: u(p.channelId), channelNonce: u(p.nonce), signedAmount: u(p.amount), signature: p.signature, channelExpiry: u(p.expiration) })),
      };
    }),
    unary(`${PATH}/StartClaim`, StartClaimRequestSchema, PaymentReplySchema, async (req) => {
      checkMpe(req.mpeAddress);
      const id = bytesToBigint(req.channelId, "channel_id");
      // Unknown channel is NOT_FOUND up front (pitfalls.md #15); the signature covers the stored nonce.
      const nonce = await d.treasury.daemonNonce(id);
      if (nonce === undefined) throw notFound(`channel Id ${id} was not found on blockchain or storage`);
      checkSigner(startClaimMessage(d.mpe, id, nonce), req.signature);
      const p = await d.treasury.startClaim(id, nonce);
      return { channelId: u(p.channelId), channelNonce: u(p.nonce), signedAmount: u(p.amount), signature: p.signature };
    }),
    unary(`${PATH}/StartClaimForMultipleChannels`, StartMultipleClaimRequestSchema, PaymentsListReplySchema, async (req) => {
      checkMpe(req.mpeAddress);
      checkSigner(multiClaimMessage(d.mpe, req.channelIds, req.currentBlock), req.signature);
      await requireFreshBlock(d.blocks, req.currentBlock);
      // Validate every id before starting any claim (pitfalls.md #4).
      const claimable = new Set((await d.treasury.unclaimed()).map((c) => c.channelId));
      for (const id of req.channelIds) {
        if ((await d.treasury.daemonNonce(id)) === undefined) throw notFound(`channel Id ${id} was not found on blockchain or storage`);
        if (!claimable.has(id)) throw failedPrecondition(`authorized amount is zero , hence nothing to claim on the channel Id: ${id}`);
      }
      const payments = [];
      // A duplicate id is signed as sent (signatures.md §3.5b) but started once: a second StartClaim of
      // the same channel would fail after the first started and lose the reply.
      for (const id of new Set(req.channelIds)) {
        const p = await d.treasury.startClaim(id);
        payments.push({ channelId: u(p.channelId), channelNonce: u(p.nonce), signedAmount: u(p.amount), signature: p.signature });
      }
      return { payments };
    }),
  ];
}
