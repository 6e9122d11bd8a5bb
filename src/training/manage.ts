/**
 * Creating, changing and deleting models (protocol/upstreams.md#training-rpcs): create_model asks the
 * provider for an id and stores the model with its creator as owner; update_model and delete_model are the
 * owner's. Ours beyond the reference: the method must be trainable, `max_models_per_user` is enforced,
 * address lists must hold addresses, and an id the provider hands out twice never changes owner.
 */
import {
  badAccessAddress,
  emptyModelIdFromService,
  modelIdTaken,
  modelNotFound,
  noServiceOrMethod,
  notTrainable,
  serviceInvocation,
  serviceIssue,
  tooManyModels,
} from "../core/messages/training.ts";
import { type Address, checksumAddress, isAddress } from "../core/signatures.ts";
import { Status } from "../gen/training_pb.ts";
import type { ModelRecord } from "../store/training-records.ts";
import { type Authorization, authorize } from "./auth.ts";
import {
  type CallContext,
  DELETE_TIMEOUT_MS,
  nowIso,
  ownedModel,
  providerOptions,
  type TrainingDeps,
  wrapped,
} from "./context.ts";

export interface NewModelRequest {
  authorization?: Authorization | undefined;
  model?:
    | {
        name: string;
        description: string;
        grpcMethodName: string;
        grpcServiceName: string;
        addressList: readonly string[];
        isPublic: boolean;
      }
    | undefined;
}

export interface UpdateModelRequest {
  authorization?: Authorization | undefined;
  modelId: string;
  /** Unset: keep. */
  modelName?: string | undefined;
  description?: string | undefined;
  /** Replaces the access list when not empty (the owner always stays on it). */
  addressList: readonly string[];
}

export interface ModelRequest {
  authorization?: Authorization | undefined;
  modelId: string;
}

/** The list with `owner` on it (compared case-insensitively), every entry checked to be an address. */
function accessList(list: readonly string[], owner: Address): string[] {
  for (const a of list) if (!isAddress(a)) throw badAccessAddress(a);
  const out: string[] = [];
  for (const a of list) if (!out.some((b) => b.toLowerCase() === a.toLowerCase())) out.push(a);
  if (!out.some((a) => a.toLowerCase() === owner)) out.push(owner);
  return out;
}

async function checkQuota(d: TrainingDeps, signer: Address, service: string, method: string): Promise<void> {
  const max = d.catalog.options(service, method)?.maxModelsPerUser ?? 0n;
  if (max === 0n) return;
  const own = (await d.book.ofUser(signer)).filter(
    (m) => m.createdBy === signer && m.grpcServiceName === service && m.grpcMethodName === method,
  );
  if (BigInt(own.length) >= max) throw tooManyModels(checksumAddress(signer), max, service, method);
}

/** create_model: the provider's new model, stored with status CREATED and the signer as owner. */
export async function createModel(d: TrainingDeps, ctx: CallContext, req: NewModelRequest): Promise<ModelRecord> {
  const signer = await authorize(d.auth, "create_model", req.authorization);
  const m = req.model;
  if (!m || m.grpcServiceName === "" || m.grpcMethodName === "") throw noServiceOrMethod();
  if (!d.catalog.isTrainable(m.grpcServiceName, m.grpcMethodName)) {
    throw notTrainable(
      m.grpcServiceName,
      m.grpcMethodName,
      [...d.catalog.methods].flatMap(([s, ms]) => ms.map((x) => `${s}/${x}`)),
    );
  }
  const addressList = accessList(m.addressList, signer);
  await checkQuota(d, signer, m.grpcServiceName, m.grpcMethodName);
  let modelId: string;
  try {
    modelId = await d.provider.createModel({ ...m, addressList, ...d.ids }, providerOptions(d, ctx));
  } catch (err) {
    throw wrapped(err, serviceInvocation);
  }
  if (modelId === "") throw emptyModelIdFromService();
  const at = nowIso(d);
  const model: ModelRecord = {
    modelId,
    status: Status.CREATED,
    name: m.name,
    description: m.description,
    grpcMethodName: m.grpcMethodName,
    grpcServiceName: m.grpcServiceName,
    addressList,
    isPublic: m.isPublic,
    trainingDataLink: "",
    createdBy: signer,
    updatedBy: signer,
    createdAt: at,
    updatedAt: at,
    ...d.ids,
  };
  if (!(await d.book.create(model))) throw modelIdTaken(modelId);
  return model;
}

/** update_model: the owner renames, re-describes or re-shares the model. */
export async function updateModel(d: TrainingDeps, _ctx: CallContext, req: UpdateModelRequest): Promise<ModelRecord> {
  const signer = await authorize(d.auth, "update_model", req.authorization);
  const model = await ownedModel(d, req.modelId, signer);
  const addressList = req.addressList.length > 0 ? accessList(req.addressList, model.createdBy as Address) : undefined;
  const at = nowIso(d);
  const updated = await d.book.update(model.modelId, (m) => ({
    ...m,
    ...(req.modelName === undefined ? {} : { name: req.modelName }),
    ...(req.description === undefined ? {} : { description: req.description }),
    ...(addressList ? { addressList } : {}),
    updatedBy: signer,
    updatedAt: at,
  }));
  if (!updated) throw modelNotFound(req.modelId);
  return updated;
}

/** delete_model: the provider deletes it, then it is DELETED here and leaves every index. */
export async function deleteModel(d: TrainingDeps, ctx: CallContext, req: ModelRequest): Promise<Status> {
  const signer = await authorize(d.auth, "delete_model", req.authorization);
  const model = await ownedModel(d, req.modelId, signer);
  try {
    await d.provider.deleteModel(model.modelId, providerOptions(d, ctx, DELETE_TIMEOUT_MS));
  } catch (err) {
    throw wrapped(err, serviceIssue);
  }
  const at = nowIso(d);
  await d.book.update(model.modelId, (m) => ({ ...m, status: Status.DELETED, updatedBy: signer, updatedAt: at }));
  return Status.DELETED;
}
