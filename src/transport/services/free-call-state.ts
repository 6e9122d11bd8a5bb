/**
 * escrow.FreeCallStateService: protobuf in and out of payments/free-calls.ts. GetFreeCallsAvailable
 * serves both dialects on one path: the v5 request of the JavaScript SDKs has a varint in field 3 where
 * v6 has bytes, so the raw bytes decide which schema decodes them, and the reply goes back in the
 * request's dialect (the JavaScript SDKs cannot read a v6 reply).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { bytesToHex } from "../../core/numbers.ts";
import {
  FreeCallStateReplySchema as V5ReplySchema,
  FreeCallStateRequestSchema as V5RequestSchema,
} from "../../gen/free_call_v5_pb.ts";
import {
  FreeCallStateReplySchema,
  FreeCallStateRequestSchema,
  FreeCallTokenSchema,
  GetFreeCallTokenRequestSchema,
} from "../../gen/state_service_pb.ts";
import { type FreeCallDeps, freeCallsAvailable, freeCallTokens } from "../../payments/free-calls.ts";
import { type DaemonMethod, decodeRequest, unary, unaryBytes } from "./method.ts";

const PATH = "/escrow.FreeCallStateService";
const AVAILABLE = `${PATH}/GetFreeCallsAvailable`;

/** "v5" when field 3 is a varint (a v5 expiry block); anything else, including garbage, is decoded as v6. */
export function freeCallStateDialect(bytes: Uint8Array): "v5" | "v6" {
  try {
    const reader = new BinaryReader(bytes);
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === 3) return wireType === WireType.Varint ? "v5" : "v6";
      reader.skip(wireType);
    }
  } catch {
    // Not a message at all: the v6 decoder names what is wrong.
  }
  return "v6";
}

export function freeCallStateService(d: FreeCallDeps): DaemonMethod[] {
  const issue = freeCallTokens(d);
  // JSON (Connect) calls are v6: the JavaScript SDKs that speak v5 send binary gRPC-Web.
  const v6 = { input: FreeCallStateRequestSchema, output: FreeCallStateReplySchema, kind: "unary" } as const;
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
    unaryBytes(
      AVAILABLE,
      async (bytes) => {
        if (freeCallStateDialect(bytes) === "v5") {
          const req = decodeRequest(AVAILABLE, V5RequestSchema, bytes);
          const available = await freeCallsAvailable(d, {
            dialect: "v5",
            userId: req.userId,
            expiryBlock: req.tokenExpiryDateBlock,
            currentBlock: req.currentBlock,
            token: req.tokenForFreeCall,
            signature: req.signature,
          });
          return toBinary(V5ReplySchema, create(V5ReplySchema, { userId: req.userId, freeCallsAvailable: available }));
        }
        const req = decodeRequest(AVAILABLE, FreeCallStateRequestSchema, bytes);
        const available = await freeCallsAvailable(d, {
          dialect: "v6",
          addressText: req.address,
          userId: req.userId ?? "",
          currentBlock: req.currentBlock,
          token: req.freeCallToken,
          signature: req.signature,
        });
        return toBinary(FreeCallStateReplySchema, create(FreeCallStateReplySchema, { freeCallsAvailable: available }));
      },
      v6,
    ),
  ];
}
