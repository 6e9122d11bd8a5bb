/** escrow.ProviderControlService: protobuf in and out of payments/provider-control.ts (the treasurer API). */

import type { PaymentInClaim } from "../../core/channel.ts";
import { bigintToBytes, bytesToBigint } from "../../core/numbers.ts";
import {
  GetPaymentsListRequestSchema,
  PaymentReplySchema,
  PaymentsListReplySchema,
  StartClaimRequestSchema,
  StartMultipleClaimRequestSchema,
} from "../../gen/control_service_pb.ts";
import type { ProviderControl } from "../../payments/provider-control.ts";
import { type DaemonMethod, unary } from "./method.ts";

const PATH = "/escrow.ProviderControlService";
const u = (v: bigint) => bigintToBytes(v);
const payment = (p: PaymentInClaim) => ({
  channelId: u(p.channelId),
  channelNonce: u(p.nonce),
  signedAmount: u(p.amount),
  signature: p.signature,
});

export function providerControlService(control: ProviderControl): DaemonMethod[] {
  return [
    unary(`${PATH}/GetListUnclaimed`, GetPaymentsListRequestSchema, PaymentsListReplySchema, async (req) => {
      const list = await control.listUnclaimed(req);
      // No signature here: snet-cli rejects an unclaimed list that carries one.
      return {
        payments: list.map((c) => ({
          channelId: u(c.channelId),
          channelNonce: u(c.nonce),
          signedAmount: u(c.amount),
          channelExpiry: u(c.expiration),
        })),
      };
    }),
    unary(`${PATH}/GetListInProgress`, GetPaymentsListRequestSchema, PaymentsListReplySchema, async (req) => {
      const list = await control.listInProgress(req);
      return { payments: list.map((p) => ({ ...payment(p), channelExpiry: u(p.expiration) })) };
    }),
    unary(`${PATH}/StartClaim`, StartClaimRequestSchema, PaymentReplySchema, async (req) =>
      payment(
        await control.startClaim({
          mpeAddress: req.mpeAddress,
          channelId: bytesToBigint(req.channelId, "channel_id"),
          signature: req.signature,
        }),
      ),
    ),
    unary(
      `${PATH}/StartClaimForMultipleChannels`,
      StartMultipleClaimRequestSchema,
      PaymentsListReplySchema,
      async (req) => ({
        payments: (await control.startClaims(req)).map(payment),
      }),
    ),
  ];
}
