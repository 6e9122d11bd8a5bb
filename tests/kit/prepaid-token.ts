/**
 * A prepaid (concurrent) call's credentials as the SDKs get them (protocol/payments.md#prepaid): GetToken with a claim
 * signature for (nonce, amount) wrapped by a block-stamped one, then the bearer-token metadata.
 *
 * @example
 * const tok = await prepaidToken(world, daemon.endpoint, ch, 10n * world.price);
 * await call(client, "Echo", { text: "hi" }, prepaidMetadata(ch.id, tok));
 */
import { signDigest } from "../../src/core/noble-recovery.ts";
import { hexToBytes } from "../../src/core/numbers.ts";
import { personalDigest, prepaidTokenRequestMessage } from "../../src/core/signatures.ts";
import { TokenReplySchema, TokenRequestSchema } from "../../src/gen/token_service_pb.ts";
import { signPayment } from "./client.ts";
import { daemonRpc } from "./daemon-client.ts";
import type { Channel, World } from "./world.ts";

/** A token for `amount` cogs of `ch` at nonce 0 from the daemon at `endpoint`; throws when refused. */
export async function prepaidToken(world: World, endpoint: string, ch: Channel, amount: bigint): Promise<string> {
  const rpc = daemonRpc(endpoint, "/escrow.TokenService/GetToken", TokenRequestSchema, TokenReplySchema);
  try {
    const head = await world.head();
    const claimSignature = signPayment(ch.client.privateKey, world.deployment.mpe, ch.id, 0n, amount);
    const signature = signDigest(
      hexToBytes(ch.client.privateKey),
      personalDigest(prepaidTokenRequestMessage(claimSignature, head)),
    );
    const r = await rpc.call({
      channelId: ch.id,
      currentNonce: 0n,
      signedAmount: amount,
      signature,
      currentBlock: head,
      claimSignature,
    });
    if (!r.reply) throw new Error(`GetToken refused: ${r.status.code} "${r.status.details}"`);
    return r.reply.token;
  } finally {
    rpc.close();
  }
}

/** The metadata of a prepaid call with `token`. */
export function prepaidMetadata(channelId: bigint, token: string): Record<string, string | Buffer> {
  return {
    "snet-payment-type": "prepaid-call",
    "snet-payment-channel-id": channelId.toString(),
    "snet-payment-channel-nonce": "0",
    "snet-prepaid-auth-token-bin": Buffer.from(token, "utf8"),
  };
}
