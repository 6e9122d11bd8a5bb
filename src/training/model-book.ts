/**
 * The one writer of training models and their indexes (store/training-records.ts). A change of a model is
 * a compare-and-swap on the model record's version that also puts and deletes the index entries the old
 * and new record imply, in one transaction — so the user, public and pending indexes never disagree with
 * the records, on SQLite and etcd alike, even with several replicas writing.
 */
import { daemonStorage } from "../core/messages/training.ts";
import { type Operation, type Store, StoreUnavailableError } from "../store/contract.ts";
import { backoff } from "../store/prepaid-records.ts";
import {
  decodeModel,
  encodeModel,
  INDEX_VALUE,
  indexKeysOf,
  type ModelRecord,
  modelIdOfIndexKey,
  type TrainingKeys,
} from "../store/training-records.ts";

export interface ModelBook {
  get(id: string): Promise<ModelRecord | undefined>;
  /** Stores a new model; false when a model of that id exists already. */
  create(model: ModelRecord): Promise<boolean>;
  /**
   * Read-modify-write of one model, retried on conflict: `change` sees the current record and returns the
   * next one (or the same object to write nothing); it may run more than once. Undefined when the model
   * does not exist.
   */
  update(id: string, change: (current: ModelRecord) => ModelRecord): Promise<ModelRecord | undefined>;
  /** Models an address may use (it is in their access list), deleted ones excluded. */
  ofUser(address: string): Promise<ModelRecord[]>;
  publicModels(): Promise<ModelRecord[]>;
  /** Ids of the models whose status the provider is still changing. */
  pendingIds(): Promise<string[]>;
}

const MAX_ATTEMPTS = 100;

/** A store that cannot be reached: "daemon storage error: <what>: …", UNAVAILABLE (the client may retry). */
async function stored<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StoreUnavailableError)
      throw daemonStorage(new StoreUnavailableError(`${what}: ${err.message}`, { cause: err }));
    throw err;
  }
}

/** The model book over `store`, keyed by `keys`. */
export function modelBook(store: Store, keys: TrainingKeys): ModelBook {
  const read = async (id: string) => {
    const entry = await stored("read model", () => store.get(keys.model(id)));
    return entry ? { model: decodeModel(entry.value), version: entry.version } : undefined;
  };
  const indexOps = (before: ModelRecord | undefined, after: ModelRecord): Operation[] => {
    const old = new Set(before ? indexKeysOf(keys, before) : []);
    const next = new Set(indexKeysOf(keys, after));
    return [
      ...[...next].filter((k) => !old.has(k)).map((key): Operation => ({ op: "put", key, value: INDEX_VALUE })),
      ...[...old].filter((k) => !next.has(k)).map((key): Operation => ({ op: "delete", key })),
    ];
  };
  const loadAll = async (prefix: string) => {
    const ids = (await stored("list models", () => store.list(prefix))).map((e) => modelIdOfIndexKey(e.key));
    const models = await Promise.all(ids.map(async (id) => (await read(id))?.model));
    return models.filter((m): m is ModelRecord => m !== undefined);
  };

  return {
    get: async (id) => (await read(id))?.model,
    create: (model) =>
      stored("store model", () =>
        store.commit({
          compare: [{ key: keys.model(model.modelId), version: 0n }],
          then: [
            { op: "put", key: keys.model(model.modelId), value: encodeModel(model) },
            ...indexOps(undefined, model),
          ],
        }),
      ),
    async update(id, change) {
      for (let attempt = 1; ; attempt++) {
        const current = await read(id);
        if (!current) return undefined;
        const next = change(current.model);
        if (next === current.model) return next;
        const ok = await stored("store model", () =>
          store.commit({
            compare: [{ key: keys.model(id), version: current.version }],
            then: [{ op: "put", key: keys.model(id), value: encodeModel(next) }, ...indexOps(current.model, next)],
          }),
        );
        if (ok) return next;
        if (attempt >= MAX_ATTEMPTS)
          throw daemonStorage(
            new StoreUnavailableError(`gave up updating model "${id}" after ${attempt} conflicting writes`),
          );
        await backoff(attempt);
      }
    },
    ofUser: (address) => loadAll(keys.userModels(address)),
    publicModels: () => loadAll(keys.publicModels),
    pendingIds: async () =>
      (await stored("list pending models", () => store.list(keys.pendingModels))).map((e) => modelIdOfIndexKey(e.key)),
  };
}
