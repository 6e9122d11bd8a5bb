/**
 * Client calls for the Deno daemon suite (daemon.test.ts) that the kit has no helper for: a free call as
 * the SDKs make it (protocol/signatures.md#free-call-token-request) and a gRPC-Web call over HTTP/1.1.
 */
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { getAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { hexToBytes } from "../../src/core/numbers.ts";
import { freeCallInvocationMessage, freeCallTokenRequestMessage, personalDigest } from "../../src/core/signatures.ts";
import {
  FreeCallStateReplySchema,
  FreeCallStateRequestSchema,
  FreeCallTokenSchema,
  GetFreeCallTokenRequestSchema,
} from "../../src/gen/state_service_pb.ts";
import { daemonRpc } from "../kit/daemon-client.ts";
import { call, type EchoReply, echoClient } from "../kit/echo-service.ts";
import { ORG_ID, SERVICE_ID, type World } from "../kit/world.ts";

export interface FreeUser {
  key: Hex;
  /** EIP-55, as the SDKs send it. */
  address: string;
}

export const newFreeUser = (): FreeUser => {
  const key = generatePrivateKey();
  return { key, address: getAddress(privateKeyToAccount(key).address) };
};

/** Free-call clients of the daemon at `endpoint`: a token, a call with it, and the calls left. */
export function freeCallClient(world: World, endpoint: string) {
  const echo = echoClient(endpoint);
  const tokenRpc = daemonRpc(
    endpoint,
    "/escrow.FreeCallStateService/GetFreeCallToken",
    GetFreeCallTokenRequestSchema,
    FreeCallTokenSchema,
  );
  const availableRpc = daemonRpc(
    endpoint,
    "/escrow.FreeCallStateService/GetFreeCallsAvailable",
    FreeCallStateRequestSchema,
    FreeCallStateReplySchema,
  );
  const fields = (user: FreeUser, currentBlock: bigint) => ({
    addressText: user.address,
    userId: "",
    orgId: ORG_ID,
    serviceId: SERVICE_ID,
    groupIdBase64: world.group.base64,
    currentBlock,
  });
  const sign = (user: FreeUser, message: Uint8Array) => signDigest(hexToBytes(user.key), personalDigest(message));
  return {
    async token(user: FreeUser): Promise<Uint8Array> {
      const block = await world.head();
      const r = await tokenRpc.call({
        address: user.address,
        signature: sign(user, freeCallTokenRequestMessage(fields(user, block))),
        currentBlock: block,
      });
      if (!r.reply) throw new Error(`GetFreeCallToken refused: ${r.status.code} "${r.status.details}"`);
      return r.reply.token;
    },
    async call(user: FreeUser, token: Uint8Array) {
      const block = await world.head();
      return call(
        echo,
        "Echo",
        { text: "free" },
        {
          "snet-payment-type": "free-call",
          "snet-free-call-user-address": user.address,
          "snet-current-block-number": block.toString(),
          "snet-free-call-auth-token-bin": Buffer.from(token),
          "snet-payment-channel-signature-bin": Buffer.from(
            sign(user, freeCallInvocationMessage(fields(user, block), token)),
          ),
        },
      );
    },
    async left(user: FreeUser, token: Uint8Array): Promise<bigint> {
      const block = await world.head();
      const signature = sign(user, freeCallInvocationMessage(fields(user, block), token));
      const r = await availableRpc.call({
        address: user.address,
        signature,
        currentBlock: block,
        freeCallToken: token,
      });
      if (!r.reply) throw new Error(`GetFreeCallsAvailable refused: ${r.status.code} "${r.status.details}"`);
      return r.reply.freeCallsAvailable;
    },
    close() {
      echo.close();
      tokenRpc.close();
      availableRpc.close();
    },
  };
}

const echoMethod = (
  protoLoader.loadSync(join(import.meta.dir, "../kit/echo.proto"), {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  })["example.Echo"] as Record<string, grpc.MethodDefinition<object, EchoReply>>
).Echo!;

export interface WebReply {
  status: number;
  headers: Record<string, string>;
  replies: EchoReply[];
  trailers: Record<string, string>;
}

/** One binary gRPC-Web Echo over HTTP/1.1 (fetch keeps the connection alive for the next one). */
export async function grpcWebEcho(url: string, text: string, headers: Record<string, string> = {}): Promise<WebReply> {
  const message = echoMethod.requestSerialize({ text });
  const body = Buffer.alloc(5 + message.length);
  body.writeUInt32BE(message.length, 1);
  message.copy(body, 5);
  const res = await fetch(`${url}/example.Echo/Echo`, {
    method: "POST",
    body,
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", ...headers },
  });
  const raw = Buffer.from(await res.arrayBuffer());
  const out: WebReply = { status: res.status, headers: {}, replies: [], trailers: {} };
  res.headers.forEach((value, key) => {
    out.headers[key] = value;
  });
  for (let offset = 0; offset + 5 <= raw.length; ) {
    const length = raw.readUInt32BE(offset + 1);
    const payload = raw.subarray(offset + 5, offset + 5 + length);
    if (raw[offset]! & 0x80) {
      for (const line of payload.toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon > 0) out.trailers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
      }
    } else {
      out.replies.push(echoMethod.responseDeserialize(payload));
    }
    offset += 5 + length;
  }
  return out;
}
