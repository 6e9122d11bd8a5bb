/**
 * The bytes the load generators send: gRPC-framed requests (protocol/headers.md#grpc-web: 1 flag byte,
 * 4-byte big-endian length, message) and escrow payment signatures, pre-signed before a timed window.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import secp256k1 from "secp256k1";
import { encodeFrame } from "../src/core/grpc-frames.ts";
import { signDigest } from "../src/core/noble-recovery.ts";
import { bigintToMinimalBytes, hexToBytes } from "../src/core/numbers.ts";
import { channelStateMessage, claimMessage, personalDigest } from "../src/core/signatures.ts";
import { ChannelStateRequestSchema } from "../src/gen/state_service_pb.ts";

export const ECHO_PATH = "/example.Echo/Echo";
export const STATE_PATH = "/escrow.PaymentChannelStateService/GetChannelState";

/**
 * `example.EchoRequest { payload = <size bytes> }` (tests/kit/echo.proto), framed. Encoded by hand because
 * the echo proto has no generated schema here: tag 0x0a is field 1, wire type 2, then a varint length.
 */
export function echoRequestFrame(size: number): Uint8Array {
  const payload = new Uint8Array(size).map((_, i) => i % 251);
  const length: number[] = [];
  for (let n = size; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  const message = new Uint8Array(1 + length.length + size);
  message[0] = 0x0a;
  message.set(length, 1);
  message.set(payload, 1 + length.length);
  return encodeFrame(message);
}

/**
 * A framed GetChannelState request signed by the channel's client
 * at `currentBlock` (protocol/signatures.md#channel-state).
 */
export function channelStateFrame(
  mpe: string,
  clientKey: `0x${string}`,
  channelId: bigint,
  currentBlock: bigint,
): Uint8Array {
  const signature = signDigest(
    hexToBytes(clientKey),
    personalDigest(channelStateMessage(mpe, channelId, currentBlock)),
  );
  const request = create(ChannelStateRequestSchema, {
    channelId: bigintToMinimalBytes(channelId),
    signature,
    currentBlock,
  });
  return encodeFrame(toBinary(ChannelStateRequestSchema, request));
}

/**
 * Escrow payment signatures (protocol/signatures.md#escrow-claim) through libsecp256k1, ~5x faster than @noble/curves,
 * so pre-signing tens of thousands of payments takes seconds. Returns r ‖ s ‖ v with v = 27/28.
 */
export function signPaymentFast(
  clientKey: Uint8Array,
  mpe: string,
  channelId: bigint,
  nonce: bigint,
  amount: bigint,
): Uint8Array {
  const { signature, recid } = secp256k1.ecdsaSign(
    personalDigest(claimMessage(mpe, channelId, nonce, amount)),
    clientKey,
  );
  const out = new Uint8Array(65);
  out.set(signature);
  out[64] = recid + 27;
  return out;
}

/**
 * The signatures of one channel's payment sequence (nonce 0; amount = price × k for k = 1, 2, …) as the
 * base64 text of `snet-payment-channel-signature-bin`, extended on demand. Signatures depend only on
 * the channel and amount, so daemons with separate stores reuse them.
 */
export function paymentSequence(clientKey: `0x${string}`, mpe: string, channelId: bigint, price: bigint) {
  const key = hexToBytes(clientKey);
  const signatures: string[] = [];
  return {
    /** The base64 signatures of steps from..to-1 (step k pays price × (k + 1)). */
    slice(from: number, to: number): string[] {
      for (let k = signatures.length; k < to; k++) {
        const sig = signPaymentFast(key, mpe, channelId, 0n, price * BigInt(k + 1));
        signatures.push(Buffer.from(sig).toString("base64"));
      }
      return signatures.slice(from, to);
    },
  };
}
export type PaymentSequence = ReturnType<typeof paymentSequence>;
