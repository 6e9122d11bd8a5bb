/**
 * Timing around the payment path for the metrics: how long a call waits for its channel's slot, and how
 * long the store takes to commit. Wrappers, so the payment code stays free of metrics.
 */
import type { DaemonMetrics } from "../ops/metrics.ts";
import type { ChannelSlots } from "../payments/slots.ts";
import type { Store } from "../store/contract.ts";

const seconds = (since: number) => (performance.now() - since) / 1000;

/** The store with every commit timed (ok = it answered, applied or not; error = it threw). */
export function timedStore(store: Store, metrics: DaemonMetrics): Store {
  // Bound, not spread: a store may be a class instance whose methods live on its prototype.
  return {
    kind: store.kind,
    exclusive: store.exclusive,
    get: store.get.bind(store),
    list: store.list.bind(store),
    grantLease: store.grantLease.bind(store),
    close: store.close.bind(store),
    ...(store.watch ? { watch: store.watch.bind(store) } : {}),
    commit: (txn) => timed(() => store.commit(txn)),
    transact: (txn) => timed(() => store.transact(txn)),
  };
  async function timed<T>(commit: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await commit();
      metrics.storeCommit(seconds(started), true);
      return result;
    } catch (err) {
      metrics.storeCommit(seconds(started), false);
      throw err;
    }
  }
}

/** The slots with every acquire timed, whether it got the slot or found it busy. */
export function timedSlots(slots: ChannelSlots, metrics: DaemonMetrics): ChannelSlots {
  return {
    async acquire(key) {
      const started = performance.now();
      try {
        return await slots.acquire(key);
      } finally {
        metrics.slotWait(seconds(started));
      }
    },
  };
}
