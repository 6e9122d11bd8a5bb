/**
 * The provider's training.Model service (protocol/upstreams.md#training-provider) as training/provider.ts wants
 * it: protobuf in and out over one shared HTTP/2 session to `model_maintenance_endpoint` (else
 * `service_endpoint`), reused by every RPC, every upload and the status poller.
 */
import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { providerBadReply } from "../../core/messages/training.ts";
import {
  ModelIDSchema,
  NewModelSchema,
  PriceInBaseUnitSchema,
  type Status,
  StatusResponseSchema,
  UploadInputSchema,
  ValidateRequestSchema,
} from "../../gen/training_pb.ts";
import type { ModelProvider, ProviderCallOptions } from "../../training/provider.ts";
import { type Upstream, upstream } from "../upstream.ts";
import { openProviderCall, providerUnary } from "./provider-grpc.ts";
import { causeText } from "./unary.ts";

const PATH = "/training.Model";
/** Replies are a model id, a price or a status: a few bytes. */
const MAX_REPLY_BYTES = 64 * 1024;

export interface TrainingModelOptions {
  /** `http://host:port` (h2c) or `https://host:port`. */
  url: string;
  /** Largest upload chunk sent (`max_message_size_in_mb`). */
  maxMessageBytes: number;
}

/** The provider's training.Model over a session of its own; `close` releases it. */
export function trainingModelClient(opts: TrainingModelOptions): ModelProvider {
  const up: Upstream = upstream({ url: opts.url, maxMessageBytes: opts.maxMessageBytes });
  const call = async <I extends DescMessage, O extends DescMessage>(
    rpc: string,
    input: I,
    request: MessageInitShape<I>,
    output: O,
    o: ProviderCallOptions,
  ) => {
    const path = `${PATH}/${rpc}`;
    const reply = await providerUnary(up, path, toBinary(input, create(input, request)), {
      ...o,
      maxReplyBytes: MAX_REPLY_BYTES,
    });
    try {
      return fromBinary(output, reply);
    } catch (err) {
      throw providerBadReply(path, causeText(err));
    }
  };
  const status = async (rpc: string, modelId: string, o: ProviderCallOptions): Promise<Status> =>
    (await call(rpc, ModelIDSchema, { modelId }, StatusResponseSchema, o)).status;

  return {
    createModel: async (model, o) =>
      (await call("create_model", NewModelSchema, { ...model, addressList: [...model.addressList] }, ModelIDSchema, o))
        .modelId,
    validateModelPrice: async (modelId, trainingDataLink, o) =>
      (
        await call(
          "validate_model_price",
          ValidateRequestSchema,
          { modelId, trainingDataLink },
          PriceInBaseUnitSchema,
          o,
        )
      ).price,
    trainModelPrice: async (modelId, o) =>
      (await call("train_model_price", ModelIDSchema, { modelId }, PriceInBaseUnitSchema, o)).price,
    validateModel: async (modelId, trainingDataLink, o) =>
      (await call("validate_model", ValidateRequestSchema, { modelId, trainingDataLink }, StatusResponseSchema, o))
        .status,
    trainModel: (modelId, o) => status("train_model", modelId, o),
    deleteModel: (modelId, o) => status("delete_model", modelId, o),
    getModelStatus: (modelId, o) => status("get_model_status", modelId, o),
    async uploadAndValidate(o) {
      const path = `${PATH}/upload_and_validate`;
      const c = await openProviderCall(up, path, { ...o, maxReplyBytes: MAX_REPLY_BYTES });
      return {
        send: (chunk) => c.write(toBinary(UploadInputSchema, create(UploadInputSchema, chunk))),
        async finish() {
          const reply = await c.end();
          try {
            return fromBinary(StatusResponseSchema, reply).status;
          } catch (err) {
            throw providerBadReply(path, causeText(err));
          }
        },
        cancel: () => c.cancel(),
      };
    },
    close: () => up.close(),
  };
}
