/** In-process store: for tests and `payment_channel_storage_type: memory` (state is lost on exit). */
import type { Entry, Lease, Store, Transaction, WatchEvent } from "./contract.ts";
import { applies } from "./txn.ts";

/** A store in memory: for tests and `payment_channel_storage_type: memory` (nothing survives a restart). */
export function memoryStore(): Store {
  const data = new Map<string, Entry>();
  let revision = 0n;
  let nextLease = 1n;
  const leases = new Map<bigint, ReturnType<typeof setTimeout> | undefined>();
  const watchers = new Set<{ prefix: string; listener: (event: WatchEvent) => void }>();
  const notify = (event: Exclude<WatchEvent, { type: "compacted" }>) => {
    const key = event.type === "put" ? event.entry.key : event.key;
    for (const w of watchers) if (key.startsWith(w.prefix)) queueMicrotask(() => w.listener(event));
  };

  const dropLease = (id: bigint) => {
    leases.delete(id);
    for (const [k, e] of data) {
      if (e.lease === id) {
        data.delete(k);
        notify({ type: "delete", key: k });
      }
    }
  };

  return {
    kind: "memory",
    exclusive: true,
    async get(key) {
      return data.get(key);
    },
    async list(prefix) {
      return [...data.values()]
        .filter((e) => e.key.startsWith(prefix))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async commit(txn: Transaction) {
      return (await this.transact(txn)).succeeded;
    },
    async transact(txn: Transaction) {
      if (!applies(txn, (k) => data.get(k)?.version ?? 0n)) return { succeeded: false, revision };
      revision++;
      for (const op of txn.then) {
        if (op.op === "delete") {
          if (data.delete(op.key)) notify({ type: "delete", key: op.key });
        } else {
          const entry: Entry = {
            key: op.key,
            value: op.value,
            version: revision,
            ...(op.lease !== undefined ? { lease: op.lease } : {}),
          };
          data.set(op.key, entry);
          notify({ type: "put", entry });
        }
      }
      return { succeeded: true, revision };
    },
    async grantLease(ttlSeconds): Promise<Lease> {
      const id = nextLease++;
      // The process is the only owner, so a lease lives as long as the process (or until revoked).
      leases.set(id, undefined);
      return { id, ttlSeconds, revoke: async () => dropLease(id) };
    },
    async watch(prefix, listener) {
      const w = { prefix, listener };
      watchers.add(w);
      return { close: () => void watchers.delete(w) };
    },
    async close() {
      data.clear();
      watchers.clear();
    },
  };
}
