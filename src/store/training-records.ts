/**
 * Records of training.Daemon (protocol/upstreams.md#training-errors, protocol/state.md#keys), our own layout on the store contract so
 * that the embedded store and etcd hold the same thing. Under the group's namespace prefix (records.ts)
 * and the service id:
 *
 * - `…/training/<service>/model/<model id>`: the model record (JSON, `"v": 1`, integers as decimal
 *   strings, the status by its enum name).
 * - `…/training/<service>/user/<address>/<model id>`, `…/public/<model id>`, `…/pending/<model id>`:
 *   index entries whose presence is the fact (models an address may use, public models, models whose
 *   status is polled). Each belongs to one model, so every change of a model and its index entries is one
 *   transaction guarded by the model record's version only — no shared list to fight over.
 */
import { Status } from "../gen/training_pb.ts";
import { RECORD_VERSION } from "./records.ts";

export interface ModelRecord {
  modelId: string;
  status: Status;
  name: string;
  description: string;
  grpcMethodName: string;
  grpcServiceName: string;
  /** As the creator gave them, creator included; the user index uses their lower-case form. */
  addressList: string[];
  isPublic: boolean;
  trainingDataLink: string;
  /** Lower-case. */
  createdBy: string;
  /** Lower-case. */
  updatedBy: string;
  /** ISO 8601, UTC. */
  createdAt: string;
  updatedAt: string;
  /** The provider's prices, once asked for (validate_model_price, train_model_price). */
  validatePrice?: bigint;
  trainPrice?: bigint;
  organizationId: string;
  serviceId: string;
  /** Base64, as the provider receives it in NewModel.group_id. */
  groupId: string;
}

const part = (text: string) => encodeURIComponent(text);

/** Every training key of one service in one payment group. */
export function trainingKeys(groupPrefix: string, serviceId: string) {
  const base = `${groupPrefix}/training/${part(serviceId)}`;
  return {
    model: (id: string) => `${base}/model/${part(id)}`,
    user: (address: string, id: string) => `${base}/user/${address.toLowerCase()}/${part(id)}`,
    userModels: (address: string) => `${base}/user/${address.toLowerCase()}/`,
    userPrefix: `${base}/user/`,
    publicModel: (id: string) => `${base}/public/${part(id)}`,
    publicModels: `${base}/public/`,
    pending: (id: string) => `${base}/pending/${part(id)}`,
    pendingModels: `${base}/pending/`,
  };
}
export type TrainingKeys = ReturnType<typeof trainingKeys>;

/** The model id an index entry stands for: the last segment of its key. */
export function modelIdOfIndexKey(key: string): string {
  return decodeURIComponent(key.slice(key.lastIndexOf("/") + 1));
}

/** Statuses the background poller follows (the provider is still working on the model). */
export const PENDING_STATUSES: ReadonlySet<Status> = new Set([Status.VALIDATING, Status.TRAINING]);

/** The index entries a model record implies; a deleted model is in no index. */
export function indexKeysOf(k: TrainingKeys, m: ModelRecord): string[] {
  if (m.status === Status.DELETED) return [];
  const keys = new Set(m.addressList.map((a) => k.user(a, m.modelId)));
  if (m.isPublic) keys.add(k.publicModel(m.modelId));
  if (PENDING_STATUSES.has(m.status)) keys.add(k.pending(m.modelId));
  return [...keys];
}

/** The stored text of an index entry (its presence is what counts). */
export const INDEX_VALUE = JSON.stringify({ v: RECORD_VERSION });

/** By name; a value this daemon does not know (a provider's newer enum) is kept as its number. */
const statusName = (s: Status): string | number => Status[s] ?? s;

function statusOf(stored: unknown): Status {
  if (typeof stored === "number") return stored as Status;
  const value = (Status as unknown as Record<string, unknown>)[String(stored)];
  if (typeof value !== "number") throw new Error(`model record has an unknown status "${String(stored)}"`);
  return value as Status;
}

/** The stored text of a model record. */
export function encodeModel(m: ModelRecord): string {
  return JSON.stringify({
    v: RECORD_VERSION,
    model_id: m.modelId,
    status: statusName(m.status),
    name: m.name,
    description: m.description,
    grpc_method_name: m.grpcMethodName,
    grpc_service_name: m.grpcServiceName,
    address_list: m.addressList,
    is_public: m.isPublic,
    training_data_link: m.trainingDataLink,
    created_by: m.createdBy,
    updated_by: m.updatedBy,
    created_at: m.createdAt,
    updated_at: m.updatedAt,
    ...(m.validatePrice === undefined ? {} : { validate_price: m.validatePrice.toString() }),
    ...(m.trainPrice === undefined ? {} : { train_price: m.trainPrice.toString() }),
    organization_id: m.organizationId,
    service_id: m.serviceId,
    group_id: m.groupId,
  });
}

/** A model record from its stored text; refuses unknown encoding versions. */
export function decodeModel(text: string): ModelRecord {
  const o = JSON.parse(text) as Record<string, unknown>;
  if (o.v !== RECORD_VERSION)
    throw new Error(`model record has encoding version ${String(o.v)}, this snetd reads version ${RECORD_VERSION}`);
  const s = (k: string) => String(o[k] ?? "");
  return {
    modelId: s("model_id"),
    status: statusOf(o.status),
    name: s("name"),
    description: s("description"),
    grpcMethodName: s("grpc_method_name"),
    grpcServiceName: s("grpc_service_name"),
    addressList: Array.isArray(o.address_list) ? o.address_list.map(String) : [],
    isPublic: o.is_public === true,
    trainingDataLink: s("training_data_link"),
    createdBy: s("created_by"),
    updatedBy: s("updated_by"),
    createdAt: s("created_at"),
    updatedAt: s("updated_at"),
    ...(typeof o.validate_price === "string" ? { validatePrice: BigInt(o.validate_price) } : {}),
    ...(typeof o.train_price === "string" ? { trainPrice: BigInt(o.train_price) } : {}),
    organizationId: s("organization_id"),
    serviceId: s("service_id"),
    groupId: s("group_id"),
  };
}
