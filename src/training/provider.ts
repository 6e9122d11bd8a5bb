/**
 * The provider's side of training (protocol/upstreams.md#training-provider): the `training.Model` service the
 * daemon calls, as the use cases see it. The transport implements it over the shared upstream session
 * (transport/upstreams/training-model.ts); failures are SnetErrors whose message is the provider's status
 * as grpc-go prints it (`rpc error: code = … desc = …`), which the use cases prefix as the reference does.
 */
import type { Status } from "../gen/training_pb.ts";

export interface ProviderCallOptions {
  /** The whole call, connection included. */
  timeoutMs: number;
  /** Aborted when the client goes away or the daemon stops. */
  signal?: AbortSignal;
}

/** NewModel as the provider receives it: the daemon fills the organization, service and group. */
export interface NewModelInput {
  name: string;
  description: string;
  grpcMethodName: string;
  grpcServiceName: string;
  addressList: readonly string[];
  isPublic: boolean;
  organizationId: string;
  serviceId: string;
  groupId: string;
}

/** One UploadInput of upload_and_validate, forwarded as received. */
export interface UploadChunk {
  modelId: string;
  data: Uint8Array;
  fileName: string;
  fileSize: bigint;
  batchSize: bigint;
  batchNumber: bigint;
  batchCount: bigint;
}

/** A client stream to the provider's upload_and_validate. */
export interface UploadStream {
  /** Sends one chunk; resolves when the provider's flow control accepts more. */
  send(chunk: UploadChunk): Promise<void>;
  /** Half-closes and waits for the provider's status. */
  finish(): Promise<Status>;
  /** Abandons the upload (the provider sees a cancelled stream). */
  cancel(): void;
}

export interface ModelProvider {
  createModel(model: NewModelInput, opts: ProviderCallOptions): Promise<string>;
  validateModelPrice(modelId: string, trainingDataLink: string, opts: ProviderCallOptions): Promise<bigint>;
  trainModelPrice(modelId: string, opts: ProviderCallOptions): Promise<bigint>;
  validateModel(modelId: string, trainingDataLink: string, opts: ProviderCallOptions): Promise<Status>;
  trainModel(modelId: string, opts: ProviderCallOptions): Promise<Status>;
  deleteModel(modelId: string, opts: ProviderCallOptions): Promise<Status>;
  getModelStatus(modelId: string, opts: ProviderCallOptions): Promise<Status>;
  /** Opens the stream; the deadline covers the whole upload. */
  uploadAndValidate(opts: ProviderCallOptions): Promise<UploadStream>;
  /** Releases the connection (the poller and every RPC share it). */
  close(): void;
}
