/** escrow.TokenService/GetToken: protobuf in and out of payments/prepaid.ts. */
import { TokenReplySchema, TokenRequestSchema } from "../../gen/token_service_pb.ts";
import { getToken, type PrepaidDeps } from "../../payments/prepaid.ts";
import { u64 } from "./channel-state.ts";
import { type DaemonMethod, unary } from "./method.ts";

export function tokenService(d: PrepaidDeps): DaemonMethod {
  return unary("/escrow.TokenService/GetToken", TokenRequestSchema, TokenReplySchema, async (req) => {
    const a = await getToken(d, req);
    return { channelId: req.channelId, token: a.token, plannedAmount: u64(a.planned), usedAmount: u64(a.used) };
  });
}
