/**
 * training.Daemon (protocol/upstreams.md#training-rpcs): protobuf in and out of the use cases in training/.
 * Paths, field numbers and the snake_case RPC names are the reference daemon v6's.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { EmptySchema, type ListValue, ListValueSchema } from "@bufbuild/protobuf/wkt";
import { trainingDisabled } from "../../core/messages/training.ts";
import {
  AllModelsRequestSchema,
  AuthValidateRequestSchema,
  CommonRequestSchema,
  MethodMetadataRequestSchema,
  MethodMetadataSchema,
  ModelsResponseSchema,
  NewModelRequestSchema,
  TrainingMetadataSchema,
  UpdateModelRequestSchema,
  UploadAndValidateRequestSchema,
} from "../../gen/training_daemon_pb.ts";
import { ModelResponseSchema, PriceInBaseUnitSchema, StatusResponseSchema } from "../../gen/training_pb.ts";
import type { ModelRecord } from "../../store/training-records.ts";
import type { CallContext, TrainingDeps } from "../../training/context.ts";
import { createModel, deleteModel, updateModel } from "../../training/manage.ts";
import { trainModel, validateModel } from "../../training/paid.ts";
import { trainModelPrice, validateModelPrice } from "../../training/prices.ts";
import { getAllModels, getMethodMetadata, getModel, trainingMetadata } from "../../training/queries.ts";
import { uploadAndValidate } from "../../training/upload.ts";
import { clientStream } from "./client-stream.ts";
import { type DaemonMethod, type MethodContext, unary } from "./method.ts";

const PATH = "/training.Daemon";

/** DD-MM-YYYY (UTC), the reference's date format. */
function day(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getUTCDate())}-${two(d.getUTCMonth() + 1)}-${d.getUTCFullYear()}`;
}

/** A stored model as ModelResponse. */
export function modelResponse(m: ModelRecord): MessageInitShape<typeof ModelResponseSchema> {
  return {
    modelId: m.modelId,
    status: m.status,
    createdDate: day(m.createdAt),
    updatedDate: day(m.updatedAt),
    name: m.name,
    description: m.description,
    grpcMethodName: m.grpcMethodName,
    grpcServiceName: m.grpcServiceName,
    addressList: m.addressList,
    isPublic: m.isPublic,
    trainingDataLink: m.trainingDataLink,
    createdByAddress: m.createdBy,
    updatedByAddress: m.updatedBy,
  };
}

/** Service name → ListValue of method names (TrainingMetadata.trainingMethods). */
export function trainingMethodsValue(methods: ReadonlyMap<string, readonly string[]>): Record<string, ListValue> {
  return Object.fromEntries(
    [...methods].map(([service, names]) => [
      service,
      create(ListValueSchema, { values: names.map((n) => ({ kind: { case: "stringValue" as const, value: n } })) }),
    ]),
  );
}

const call = (rpc: string, ctx: MethodContext): CallContext => ({
  path: `${PATH}/${rpc}`,
  metadata: ctx.metadata,
  timeoutMs: ctx.timeoutMs,
  signal: ctx.signal,
});

/** The 12 RPCs of training.Daemon; `idleUploadMs` bounds the wait for each upload chunk. */
export function trainingService(d: TrainingDeps, idleUploadMs: number): DaemonMethod[] {
  return [
    unary(`${PATH}/create_model`, NewModelRequestSchema, ModelResponseSchema, async (req, ctx) =>
      modelResponse(await createModel(d, call("create_model", ctx), req)),
    ),
    unary(`${PATH}/validate_model_price`, AuthValidateRequestSchema, PriceInBaseUnitSchema, async (req, ctx) => ({
      price: await validateModelPrice(d, call("validate_model_price", ctx), req),
    })),
    clientStream(
      `${PATH}/upload_and_validate`,
      UploadAndValidateRequestSchema,
      StatusResponseSchema,
      async (requests, ctx) => ({
        status: await uploadAndValidate(d, call("upload_and_validate", ctx), requests, idleUploadMs),
      }),
    ),
    unary(`${PATH}/validate_model`, AuthValidateRequestSchema, StatusResponseSchema, async (req, ctx) => ({
      status: await validateModel(d, call("validate_model", ctx), req),
    })),
    unary(`${PATH}/train_model_price`, CommonRequestSchema, PriceInBaseUnitSchema, async (req, ctx) => ({
      price: await trainModelPrice(d, call("train_model_price", ctx), req),
    })),
    unary(`${PATH}/train_model`, CommonRequestSchema, StatusResponseSchema, async (req, ctx) => ({
      status: await trainModel(d, call("train_model", ctx), req),
    })),
    unary(`${PATH}/delete_model`, CommonRequestSchema, StatusResponseSchema, async (req, ctx) => ({
      status: await deleteModel(d, call("delete_model", ctx), req),
    })),
    unary(`${PATH}/get_all_models`, AllModelsRequestSchema, ModelsResponseSchema, async (req, ctx) => ({
      listOfModels: (await getAllModels(d, call("get_all_models", ctx), req)).map(modelResponse),
    })),
    unary(`${PATH}/get_model`, CommonRequestSchema, ModelResponseSchema, async (req, ctx) =>
      modelResponse(await getModel(d, call("get_model", ctx), req)),
    ),
    unary(`${PATH}/update_model`, UpdateModelRequestSchema, ModelResponseSchema, async (req, ctx) =>
      modelResponse(await updateModel(d, call("update_model", ctx), req)),
    ),
    unary(`${PATH}/get_training_metadata`, EmptySchema, TrainingMetadataSchema, async () => {
      const md = trainingMetadata(d);
      return {
        trainingEnabled: md.enabled,
        trainingInProto: md.inProto,
        trainingMethods: trainingMethodsValue(md.methods),
      };
    }),
    unary(`${PATH}/get_method_metadata`, MethodMetadataRequestSchema, MethodMetadataSchema, async (req) => ({
      ...(await getMethodMetadata(d, req)),
    })),
  ];
}

/** Training off (or no chain): every RPC answers the reference's "service end point is not defined" error. */
export function disabledTrainingService(): DaemonMethod[] {
  const off = async (): Promise<never> => {
    throw trainingDisabled();
  };
  return [
    unary(`${PATH}/create_model`, NewModelRequestSchema, ModelResponseSchema, off),
    unary(`${PATH}/validate_model_price`, AuthValidateRequestSchema, PriceInBaseUnitSchema, off),
    clientStream(`${PATH}/upload_and_validate`, UploadAndValidateRequestSchema, StatusResponseSchema, off),
    unary(`${PATH}/validate_model`, AuthValidateRequestSchema, StatusResponseSchema, off),
    unary(`${PATH}/train_model_price`, CommonRequestSchema, PriceInBaseUnitSchema, off),
    unary(`${PATH}/train_model`, CommonRequestSchema, StatusResponseSchema, off),
    unary(`${PATH}/delete_model`, CommonRequestSchema, StatusResponseSchema, off),
    unary(`${PATH}/get_all_models`, AllModelsRequestSchema, ModelsResponseSchema, off),
    unary(`${PATH}/get_model`, CommonRequestSchema, ModelResponseSchema, off),
    unary(`${PATH}/update_model`, UpdateModelRequestSchema, ModelResponseSchema, off),
    unary(`${PATH}/get_training_metadata`, EmptySchema, TrainingMetadataSchema, off),
    unary(`${PATH}/get_method_metadata`, MethodMetadataRequestSchema, MethodMetadataSchema, off),
  ];
}
