/**
 * Clients of the three payment paths the SDKs use, for suites that need all of them against one daemon:
 * escrow (see world.ts `Channel.pay`), prepaid (GetToken, then calls with the bearer token) and free calls
 * (GetFreeCallToken, then calls signed over the token), signed exactly as the SDKs sign them.
 *
 * @example
 * const pay = payKit(world, daemon.endpoint);
 * const t = await pay.prepaidToken(ch, 10n * world.price);
 * await call(pay.echo, "Echo", { text: "hi" }, pay.prepaidMetadata(ch.id, t.reply!.token));
 * pay.close();
 */
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { hexToBytes } from "../../src/core/numbers.ts";
import {
  freeCallInvocationMessage,
  freeCallTokenRequestMessage,
  personalDigest,
  prepaidTokenRequestMessage,
} from "../../src/core/signatures.ts";
import { FreeCallTokenSchema, GetFreeCallTokenRequestSchema } from "../../src/gen/state_service_pb.ts";
import { TokenReplySchema, TokenRequestSchema } from "../../src/gen/token_service_pb.ts";
import { signPayment } from "./client.ts";
import { daemonRpc } from "./daemon-client.ts";
import { call, echoClient } from "./echo-service.ts";
import { type Channel, ORG_ID, SERVICE_ID, type World } from "./world.ts";

/** Someone calling the service: a key, and its EIP-55 address as the SDKs send it. */
export interface Caller {
  key: Hex;
  address: string;
}

export const callerOf = (key: Hex): Caller => ({ key, address: privateKeyToAccount(key).address });

export function payKit(world: World, endpoint: string) {
  const echo = echoClient(endpoint);
  const tokens = daemonRpc(endpoint, "/escrow.TokenService/GetToken", TokenRequestSchema, TokenReplySchema);
  const freeTokens = daemonRpc(
    endpoint,
    "/escrow.FreeCallStateService/GetFreeCallToken",
    GetFreeCallTokenRequestSchema,
    FreeCallTokenSchema,
  );
  const fields = (addressText: string, currentBlock: bigint) => ({
    addressText,
    userId: "",
    orgId: ORG_ID,
    serviceId: SERVICE_ID,
    groupIdBase64: world.group.base64,
    currentBlock,
  });

  return {
    echo,
    /** GetToken for `amount` at nonce 0: a claim signature wrapped by a block-stamped one. */
    async prepaidToken(ch: Channel, amount: bigint) {
      const head = await world.head();
      const claimSignature = signPayment(ch.client.privateKey, world.deployment.mpe, ch.id, 0n, amount);
      const signature = signDigest(
        hexToBytes(ch.client.privateKey),
        personalDigest(prepaidTokenRequestMessage(claimSignature, head)),
      );
      return tokens.call({
        channelId: ch.id,
        currentNonce: 0n,
        signedAmount: amount,
        signature,
        currentBlock: head,
        claimSignature,
      });
    },
    prepaidMetadata: (channelId: bigint, token: string) => ({
      "snet-payment-type": "prepaid-call",
      "snet-payment-channel-id": channelId.toString(),
      "snet-payment-channel-nonce": "0",
      "snet-prepaid-auth-token-bin": Buffer.from(token, "utf8"),
    }),
    /** GetFreeCallToken signed by `who`. */
    async freeCallToken(who: Caller) {
      const block = await world.head();
      const signature = signDigest(
        hexToBytes(who.key),
        personalDigest(freeCallTokenRequestMessage(fields(who.address, block))),
      );
      return freeTokens.call({ address: who.address, signature, currentBlock: block });
    },
    /** One free Echo by `who` with `token`. */
    async freeCall(who: Caller, token: Uint8Array) {
      const block = await world.head();
      const signature = signDigest(
        hexToBytes(who.key),
        personalDigest(freeCallInvocationMessage(fields(who.address, block), token)),
      );
      return call(
        echo,
        "Echo",
        { text: "free" },
        {
          "snet-payment-type": "free-call",
          "snet-free-call-user-address": who.address,
          "snet-current-block-number": block.toString(),
          "snet-free-call-auth-token-bin": Buffer.from(token),
          "snet-payment-channel-signature-bin": Buffer.from(signature),
        },
      );
    },
    close() {
      echo.close();
      tokens.close();
      freeTokens.close();
    },
  };
}
