/**
 * A provider's training.Model service for the training suites: a real grpc-js server on 127.0.0.1 with
 * the daemon's own generated messages, that remembers what it was asked (and from which connection) and
 * answers as a test arranges: prices, the status each model reports, a failure for the next call of an RPC.
 *
 * @example
 * const provider = await startModelProvider();
 * provider.failNext("train_model", grpc.status.INTERNAL, "GPU on fire");
 * provider.statusOf.set("model-1", Status.READY_TO_USE);
 */

import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  ModelIDSchema,
  type NewModel,
  NewModelSchema,
  PriceInBaseUnitSchema,
  Status,
  StatusResponseSchema,
  UploadInputSchema,
  ValidateRequestSchema,
} from "../../src/gen/training_pb.ts";
import { freePort } from "../kit/ports.ts";

export interface ReceivedCall {
  rpc: string;
  /** The daemon's side of the connection ("ipv4:127.0.0.1:PORT"): one value means one shared connection. */
  peer: string;
  metadata: Record<string, unknown>;
  request: unknown;
}

export interface ReceivedUpload {
  modelId: string;
  chunks: number;
  bytes: number;
  /** Sum of all bytes mod 2^32, to check nothing was lost or reordered. */
  checksum: number;
  /** The daemon half-closed the stream: the provider saw the whole upload. */
  completed: boolean;
  /** The daemon cancelled the stream. */
  cancelled: boolean;
}

export interface ModelProvider {
  /** `127.0.0.1:PORT` */
  address: string;
  url: string;
  calls: ReceivedCall[];
  uploads: ReceivedUpload[];
  created: NewModel[];
  validatePrice: bigint;
  trainPrice: bigint;
  /** What get_model_status (and the status RPCs) answer per model; VALIDATING when unset. */
  statusOf: Map<string, Status>;
  /** The status validate_model, train_model and upload_and_validate answer. */
  replies: { validate: Status; train: Status; upload: Status };
  /** The next call of `rpc` fails with `code` and `message`. */
  failNext(rpc: string, code: grpc.status, message: string): void;
  /** The next create_model answers this model id instead of a fresh one. */
  nextModelId?: string;
  callsOf(rpc: string): ReceivedCall[];
  stop(): Promise<void>;
}

export function checksumOf(bytes: Uint8Array, start = 0): number {
  let sum = start;
  for (const b of bytes) sum = (sum + b) >>> 0;
  return sum;
}

const codec = <T extends DescMessage>(schema: T) => ({
  serialize: (m: MessageShape<T>) => Buffer.from(toBinary(schema, m)),
  deserialize: (b: Buffer) => fromBinary(schema, b),
});

function method(
  name: string,
  input: DescMessage,
  output: DescMessage,
  clientStream = false,
): grpc.MethodDefinition<unknown, unknown> {
  const i = codec(input);
  const o = codec(output);
  return {
    path: `/training.Model/${name}`,
    requestStream: clientStream,
    responseStream: false,
    requestSerialize: i.serialize as (m: unknown) => Buffer,
    requestDeserialize: i.deserialize,
    responseSerialize: o.serialize as (m: unknown) => Buffer,
    responseDeserialize: o.deserialize,
  };
}

const SERVICE: grpc.ServiceDefinition = {
  create_model: method("create_model", NewModelSchema, ModelIDSchema),
  validate_model_price: method("validate_model_price", ValidateRequestSchema, PriceInBaseUnitSchema),
  upload_and_validate: method("upload_and_validate", UploadInputSchema, StatusResponseSchema, true),
  validate_model: method("validate_model", ValidateRequestSchema, StatusResponseSchema),
  train_model_price: method("train_model_price", ModelIDSchema, PriceInBaseUnitSchema),
  train_model: method("train_model", ModelIDSchema, StatusResponseSchema),
  delete_model: method("delete_model", ModelIDSchema, StatusResponseSchema),
  get_model_status: method("get_model_status", ModelIDSchema, StatusResponseSchema),
};

/** Starts the provider; `stop()` shuts it down. */
export async function startModelProvider(): Promise<ModelProvider> {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 });
  const failures = new Map<string, { code: grpc.status; message: string }>();
  let counter = 0;
  const p: ModelProvider = {
    address: "",
    url: "",
    calls: [],
    uploads: [],
    created: [],
    validatePrice: 700n,
    trainPrice: 1500n,
    statusOf: new Map(),
    replies: { validate: Status.VALIDATING, train: Status.TRAINING, upload: Status.VALIDATING },
    failNext: (rpc, code, message) => void failures.set(rpc, { code, message }),
    callsOf: (rpc) => p.calls.filter((c) => c.rpc === rpc),
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  const record = (
    rpc: string,
    call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown>,
    request: unknown,
  ) => p.calls.push({ rpc, peer: call.getPeer(), metadata: call.metadata.getMap(), request });
  const failure = (rpc: string) => {
    const f = failures.get(rpc);
    failures.delete(rpc);
    return f ? Object.assign(new Error(f.message), { code: f.code, details: f.message }) : null;
  };
  const unary =
    (rpc: string, answer: (req: never) => unknown): grpc.handleUnaryCall<unknown, unknown> =>
    (call, callback) => {
      record(rpc, call, call.request);
      const f = failure(rpc);
      if (f) return callback(f);
      callback(null, answer(call.request as never));
    };
  const status = (s: Status) => create(StatusResponseSchema, { status: s });

  server.addService(SERVICE, {
    create_model: unary("create_model", (req: NewModel) => {
      p.created.push(req);
      const modelId = p.nextModelId ?? `model-${++counter}`;
      delete p.nextModelId;
      return create(ModelIDSchema, { modelId });
    }),
    validate_model_price: unary("validate_model_price", () =>
      create(PriceInBaseUnitSchema, { price: p.validatePrice }),
    ),
    train_model_price: unary("train_model_price", () => create(PriceInBaseUnitSchema, { price: p.trainPrice })),
    validate_model: unary("validate_model", () => status(p.replies.validate)),
    train_model: unary("train_model", () => status(p.replies.train)),
    delete_model: unary("delete_model", () => status(Status.DELETED)),
    get_model_status: unary("get_model_status", (req: { modelId: string }) =>
      status(p.statusOf.get(req.modelId) ?? Status.VALIDATING),
    ),
    upload_and_validate: (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const upload: ReceivedUpload = {
        modelId: "",
        chunks: 0,
        bytes: 0,
        checksum: 0,
        completed: false,
        cancelled: false,
      };
      p.uploads.push(upload);
      record("upload_and_validate", call, undefined);
      call.on("data", (chunk: { modelId: string; data: Uint8Array }) => {
        upload.modelId = chunk.modelId;
        upload.chunks++;
        upload.bytes += chunk.data.length;
        upload.checksum = checksumOf(chunk.data, upload.checksum);
      });
      call.on("cancelled", () => {
        if (!upload.completed) upload.cancelled = true;
      });
      // grpc-js also ends the request stream of a call the client cancelled (RST_STREAM), with the
      // cancellation a moment later: wait a little before taking the end for a half-close.
      call.on("end", () =>
        setTimeout(() => {
          if (upload.cancelled) return;
          upload.completed = true;
          const f = failure("upload_and_validate");
          if (f) callback(f);
          else callback(null, status(p.replies.upload));
        }, 20),
      );
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  p.address = `127.0.0.1:${port}`;
  p.url = `http://127.0.0.1:${port}`;
  return p;
}
