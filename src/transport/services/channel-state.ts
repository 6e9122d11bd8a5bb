/** escrow.PaymentChannelStateService/GetChannelState: protobuf in and out of payments/channel-state.ts. */
import { bigintToBytes, bytesToBigint } from "../../core/numbers.ts";
import { ChannelStateReplySchema, ChannelStateRequestSchema } from "../../gen/state_service_pb.ts";
import { type ChannelStateDeps, readChannelState } from "../../payments/channel-state.ts";
import { type DaemonMethod, unary } from "./method.ts";

/** uint64 reply fields saturate rather than wrap. */
export const u64 = (v: bigint) => (v > 0xffffffffffffffffn ? 0xffffffffffffffffn : v);

export function channelStateService(d: ChannelStateDeps): DaemonMethod {
  return unary(
    "/escrow.PaymentChannelStateService/GetChannelState",
    ChannelStateRequestSchema,
    ChannelStateReplySchema,
    async (req) => {
      const a = await readChannelState(d, {
        channelId: bytesToBigint(req.channelId, "channel_id"),
        currentBlock: req.currentBlock,
        signature: req.signature,
      });
      return {
        currentNonce: bigintToBytes(a.nonce),
        ...(a.signed
          ? { currentSignedAmount: bigintToBytes(a.signed.amount), currentSignature: a.signed.signature }
          : {}),
        ...(a.oldNonce
          ? { oldNonceSignedAmount: bigintToBytes(a.oldNonce.amount), oldNonceSignature: a.oldNonce.signature }
          : {}),
        ...(a.prepaid ? { plannedAmount: u64(a.prepaid.planned), usedAmount: u64(a.prepaid.used) } : {}),
      };
    },
  );
}
