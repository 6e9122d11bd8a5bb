/**
 * With `blockchain_enabled: false` the daemon's payment services still answer: state,
 * control and token services reply empty, free-call services say why they cannot work. Without these
 * the calls would be proxied to the AI service, which knows nothing about them.
 */
import { blockchainDisabled } from "../../core/messages/tokens.ts";
import {
  GetPaymentsListRequestSchema,
  PaymentReplySchema,
  PaymentsListReplySchema,
  StartClaimRequestSchema,
  StartMultipleClaimRequestSchema,
} from "../../gen/control_service_pb.ts";
import {
  ChannelStateReplySchema,
  ChannelStateRequestSchema,
  FreeCallStateReplySchema,
  FreeCallStateRequestSchema,
  FreeCallTokenSchema,
  GetFreeCallTokenRequestSchema,
} from "../../gen/state_service_pb.ts";
import { TokenReplySchema, TokenRequestSchema } from "../../gen/token_service_pb.ts";
import { type DaemonMethod, unary } from "./method.ts";

const disabled = () => {
  throw blockchainDisabled();
};

export function disabledPaymentServices(): DaemonMethod[] {
  return [
    unary(
      "/escrow.PaymentChannelStateService/GetChannelState",
      ChannelStateRequestSchema,
      ChannelStateReplySchema,
      async () => ({}),
    ),
    unary(
      "/escrow.ProviderControlService/GetListUnclaimed",
      GetPaymentsListRequestSchema,
      PaymentsListReplySchema,
      async () => ({}),
    ),
    unary(
      "/escrow.ProviderControlService/GetListInProgress",
      GetPaymentsListRequestSchema,
      PaymentsListReplySchema,
      async () => ({}),
    ),
    unary("/escrow.ProviderControlService/StartClaim", StartClaimRequestSchema, PaymentReplySchema, async () => ({})),
    unary(
      "/escrow.ProviderControlService/StartClaimForMultipleChannels",
      StartMultipleClaimRequestSchema,
      PaymentsListReplySchema,
      async () => ({}),
    ),
    unary("/escrow.TokenService/GetToken", TokenRequestSchema, TokenReplySchema, async () => ({})),
    unary(
      "/escrow.FreeCallStateService/GetFreeCallToken",
      GetFreeCallTokenRequestSchema,
      FreeCallTokenSchema,
      async () => disabled(),
    ),
    unary(
      "/escrow.FreeCallStateService/GetFreeCallsAvailable",
      FreeCallStateRequestSchema,
      FreeCallStateReplySchema,
      async () => disabled(),
    ),
  ];
}
