/**
 * A training.Daemon client for the suites: grpc-js with the daemon's generated messages (so the real
 * wire encoding is exercised), requests signed as snet-sdk-python 6.0.0 signs them (protocol/signatures.md#training-authorisation),
 * and train-call payment metadata (protocol/headers.md#train-call-headers).
 *
 * @example
 * const t = trainingClient(daemon.endpoint);
 * const r = await t.createModel({ authorization: signedBy(key, "create_model", await world.head()), model: { … } });
 */

import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { hexToBytes } from "../../src/core/numbers.ts";
import { personalDigest, trainingAuthMessage } from "../../src/core/signatures.ts";
import {
  AllModelsRequestSchema,
  type AuthorizationDetails,
  AuthValidateRequestSchema,
  CommonRequestSchema,
  MethodMetadataRequestSchema,
  MethodMetadataSchema,
  ModelsResponseSchema,
  NewModelRequestSchema,
  TrainingMetadataSchema,
  UpdateModelRequestSchema,
  UploadAndValidateRequestSchema,
} from "../../src/gen/training_daemon_pb.ts";
import { ModelResponseSchema, PriceInBaseUnitSchema, StatusResponseSchema } from "../../src/gen/training_pb.ts";
import type { Channel } from "../kit/world.ts";

export type Metadata = Record<string, string | Buffer>;

export interface RpcResult<T> {
  reply: T | undefined;
  status: { code: number; details: string };
}

const toMetadata = (m: Metadata = {}) => {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(m)) md.set(k, v);
  return md;
};

/** AuthorizationDetails signed by `key`, claiming to be `signerAddress` (its own address by default). */
export function signedBy(key: Hex, message: string, block: bigint, signerAddress?: string): AuthorizationDetailsInit {
  // The claimed address is what gets packed: a forger signs the very bytes the daemon rebuilds.
  const address = signerAddress ?? privateKeyToAccount(key).address;
  const signature = signDigest(hexToBytes(key), personalDigest(trainingAuthMessage(message, address, block)));
  return { currentBlock: block, message, signature, signerAddress: address };
}
type AuthorizationDetailsInit = Pick<AuthorizationDetails, "currentBlock" | "message" | "signature" | "signerAddress">;

/** train-call metadata: the channel's escrow payment of `amount` (cumulative) for `modelId`. */
export function trainPayment(ch: Channel, amount: bigint, modelId: string, nonce = 0n): Metadata {
  return { ...ch.pay(amount, nonce), "snet-payment-type": "train-call", "snet-train-model-id": modelId };
}

export function trainingClient(endpoint: string) {
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });
  const ser =
    <T extends DescMessage>(s: T) =>
    (r: MessageInitShape<T>) =>
      Buffer.from(toBinary(s, create(s, r)));
  const de =
    <T extends DescMessage>(s: T) =>
    (b: Buffer) =>
      fromBinary(s, b);
  const unary =
    <I extends DescMessage, O extends DescMessage>(rpc: string, input: I, output: O) =>
    (request: MessageInitShape<I>, metadata?: Metadata, deadlineMs = 15_000): Promise<RpcResult<MessageShape<O>>> =>
      new Promise((resolve) => {
        client.makeUnaryRequest(
          `/training.Daemon/${rpc}`,
          ser(input),
          de(output),
          request,
          toMetadata(metadata),
          { deadline: Date.now() + deadlineMs },
          (err, reply) =>
            resolve(
              err
                ? { reply: undefined, status: { code: err.code, details: err.details } }
                : { reply: reply as MessageShape<O>, status: { code: 0, details: "" } },
            ),
        );
      });
  return {
    createModel: unary("create_model", NewModelRequestSchema, ModelResponseSchema),
    validateModelPrice: unary("validate_model_price", AuthValidateRequestSchema, PriceInBaseUnitSchema),
    validateModel: unary("validate_model", AuthValidateRequestSchema, StatusResponseSchema),
    trainModelPrice: unary("train_model_price", CommonRequestSchema, PriceInBaseUnitSchema),
    trainModel: unary("train_model", CommonRequestSchema, StatusResponseSchema),
    deleteModel: unary("delete_model", CommonRequestSchema, StatusResponseSchema),
    getAllModels: unary("get_all_models", AllModelsRequestSchema, ModelsResponseSchema),
    getModel: unary("get_model", CommonRequestSchema, ModelResponseSchema),
    updateModel: unary("update_model", UpdateModelRequestSchema, ModelResponseSchema),
    getTrainingMetadata: unary("get_training_metadata", EmptySchema, TrainingMetadataSchema),
    getMethodMetadata: unary("get_method_metadata", MethodMetadataRequestSchema, MethodMetadataSchema),
    /** upload_and_validate; `between(n)` runs before chunk n (n ≥ 2) is sent, e.g. to mine blocks. */
    upload(
      chunks: MessageInitShape<typeof UploadAndValidateRequestSchema>[],
      metadata?: Metadata,
      opts: { between?: (n: number) => Promise<void>; deadlineMs?: number } = {},
    ): Promise<RpcResult<MessageShape<typeof StatusResponseSchema>>> {
      return new Promise((resolve) => {
        const stream = client.makeClientStreamRequest(
          "/training.Daemon/upload_and_validate",
          ser(UploadAndValidateRequestSchema),
          de(StatusResponseSchema),
          toMetadata(metadata),
          { deadline: Date.now() + (opts.deadlineMs ?? 60_000) },
          (err, reply) =>
            resolve(
              err
                ? { reply: undefined, status: { code: err.code, details: err.details } }
                : { reply: reply as never, status: { code: 0, details: "" } },
            ),
        );
        (async () => {
          for (let i = 0; i < chunks.length; i++) {
            if (i > 0) await opts.between?.(i + 1);
            if (!stream.write(chunks[i]!)) await new Promise((r) => stream.once("drain", r));
          }
          stream.end();
        })().catch(() => stream.cancel());
      });
    },
    close: () => client.close(),
  };
}

export type TrainingClient = ReturnType<typeof trainingClient>;
