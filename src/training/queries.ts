/**
 * Reading models and training metadata (protocol/upstreams.md#training-rpcs): get_model refreshes the status
 * from the provider, get_all_models filters and pages the caller's and the public models without calling
 * the provider, and the two metadata RPCs answer from the service's protos.
 */
import { modelNotFound, serviceIssue, unknownMethod } from "../core/messages/training.ts";
import { Status } from "../gen/training_pb.ts";
import type { TrainingOptions } from "../metadata/protos/training.ts";
import type { ModelRecord } from "../store/training-records.ts";
import { type Authorization, authorize } from "./auth.ts";
import {
  accessibleModel,
  type CallContext,
  nowIso,
  providerOptions,
  STATUS_TIMEOUT_MS,
  type TrainingDeps,
  wrapped,
} from "./context.ts";
import type { ModelRequest } from "./manage.ts";

export interface AllModelsRequest {
  authorization?: Authorization | undefined;
  /** Empty: every status. */
  statuses: readonly Status[];
  /** Unset: the caller's private models and every public one; false: the private ones; true: the public ones. */
  isPublic?: boolean | undefined;
  grpcMethodName: string;
  grpcServiceName: string;
  /** Case-insensitive part of the name. */
  name: string;
  /** Case-insensitive part of the creator's address. */
  createdByAddress: string;
  pageSize: bigint;
  /** 0-based; paging applies when page or pageSize is not 0. */
  page: bigint;
}

/** get_model: the model with the provider's current status (stored when it changed). */
export async function getModel(d: TrainingDeps, ctx: CallContext, req: ModelRequest): Promise<ModelRecord> {
  const signer = await authorize(d.auth, "get_model", req.authorization);
  const model = await accessibleModel(d, req.modelId, signer);
  let status: Status;
  try {
    status = await d.provider.getModelStatus(model.modelId, providerOptions(d, ctx, STATUS_TIMEOUT_MS));
  } catch (err) {
    throw wrapped(err, serviceIssue);
  }
  if (status === model.status) return model;
  const at = nowIso(d);
  // The model may have been deleted meanwhile; then the deletion stands.
  const updated = await d.book.update(model.modelId, (m) =>
    m.status === Status.DELETED || m.status === status ? m : { ...m, status, updatedAt: at },
  );
  return updated ?? { ...model, status };
}

const byCreation = (a: ModelRecord, b: ModelRecord) =>
  a.createdAt.localeCompare(b.createdAt) || a.modelId.localeCompare(b.modelId);

/** The reference's paging: pages of at least one model; a page past the end is empty. */
function paginate<T>(items: readonly T[], page: bigint, pageSize: bigint): T[] {
  const size = pageSize < 1n ? 1n : pageSize;
  const start = page * size;
  if (start >= BigInt(items.length)) return [];
  return items.slice(Number(start), Number(start + size < BigInt(items.length) ? start + size : BigInt(items.length)));
}

/** get_all_models: what the caller may see, filtered and paged. */
export async function getAllModels(d: TrainingDeps, _ctx: CallContext, req: AllModelsRequest): Promise<ModelRecord[]> {
  const signer = await authorize(d.auth, "get_all_models", req.authorization);
  const found: ModelRecord[] = [];
  if (req.isPublic !== true) found.push(...(await d.book.ofUser(signer)).filter((m) => !m.isPublic).sort(byCreation));
  if (req.isPublic !== false) found.push(...(await d.book.publicModels()).sort(byCreation));
  const name = req.name.toLowerCase();
  const creator = req.createdByAddress.toLowerCase();
  const statuses = new Set(req.statuses);
  const matching = found.filter(
    (m) =>
      m.name.toLowerCase().includes(name) &&
      m.grpcMethodName.includes(req.grpcMethodName) &&
      m.grpcServiceName.includes(req.grpcServiceName) &&
      m.createdBy.toLowerCase().includes(creator) &&
      (statuses.size === 0 || statuses.has(m.status)),
  );
  return req.page !== 0n || req.pageSize !== 0n ? paginate(matching, req.page, req.pageSize) : matching;
}

/** get_training_metadata: whether training is on and which methods are trainable, per service. */
export function trainingMetadata(d: Pick<TrainingDeps, "catalog">): {
  enabled: boolean;
  inProto: boolean;
  methods: ReadonlyMap<string, readonly string[]>;
} {
  return { enabled: true, inProto: d.catalog.inProto, methods: d.catalog.methods };
}

export interface MethodMetadataRequest {
  modelId: string;
  grpcMethodName: string;
  grpcServiceName: string;
}

/** get_method_metadata: options 50001–50008 of a method, named directly or by one of its models. */
export async function getMethodMetadata(d: TrainingDeps, req: MethodMetadataRequest): Promise<TrainingOptions> {
  let service = req.grpcServiceName;
  let method = req.grpcMethodName;
  if (req.modelId !== "") {
    const model = await d.book.get(req.modelId);
    if (!model) throw modelNotFound(req.modelId);
    service = model.grpcServiceName;
    method = model.grpcMethodName;
  }
  const options = d.catalog.options(service, method);
  if (!options) throw unknownMethod(service, method);
  return options;
}
