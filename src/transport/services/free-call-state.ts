/** escrow.FreeCallStateService: protobuf in and out of payments/free-calls.ts. */
import { bytesToHex } from "../../core/numbers.ts";
import { FreeCallStateReplySchema, FreeCallStateRequestSchema, FreeCallTokenSchema, GetFreeCallTokenRequestSchema } from "../../gen/state_service_pb.ts";
import { type FreeCallDeps, freeCallTokens, freeCallsAvailable } from "../../payments/free-calls.ts";
import { type DaemonMethod, unary } from "./method.ts";

const PATH = "/escrow.FreeCallStateService";

export function freeCallStateService(d: FreeCallDeps): DaemonMethod[] {
  const issue = freeCallTokens(d);
  return [
    unary(`${PATH}/GetFreeCallToken`, GetFreeCallTokenRequestSchema, FreeCallTokenSchema, async (req) => {
      const { token, expiryBlock } = await issue({
        address: req.address,
        userId: req.userId ?? "",
        currentBlock: req.currentBlock,
        signature: req.signature,
        tokenLifetimeInBlocks: req.tokenLifetimeInBlocks,
      });
      return { token, tokenHex: bytesToHex(token, false), tokenExpirationBlock: expiryBlock };
    }),
    unary(`${PATH}/GetFreeCallsAvailable`, FreeCallStateRequestSchema, FreeCallStateReplySchema, async (req) => ({
      freeCallsAvailable: await freeCallsAvailable(d, {
        addressText: req.address,
        userId: req.userId ?? "",
        currentBlock: req.currentBlock,
        token: req.freeCallToken,
        signature: req.signature,
      }),
    })),
  ];
}
