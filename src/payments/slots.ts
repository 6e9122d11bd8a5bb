/**
 * The exclusive in-flight slot of a channel (payments.md §3 invariant a): at most one escrow call per
 * channel reaches the service at a time, across every replica of the group.
 *
 * - One process owning its store (SQLite, memory): a set in memory. A crash frees it with the process.
 * - A shared store (etcd): a key attached to this daemon's lease, created only if absent. A killed
 *   daemon's slots vanish when its lease expires (TTL), so no channel stays blocked (pitfalls.md #1).
 */
import type { Lease, Operation, Store } from "../store/contract.ts";

export interface Slot {
  /** Operations to add to the commit that ends the call, releasing the slot atomically with it. */
  readonly releaseOps: readonly Operation[];
  /** Releases without committing (refused or failed call). */
  release(): Promise<void>;
}

export interface ChannelSlots {
  /** Undefined when another call holds the slot. */
  acquire(key: string): Promise<Slot | undefined>;
}

export function localSlots(): ChannelSlots {
  const held = new Set<string>();
  return {
    async acquire(key) {
      if (held.has(key)) return undefined;
      held.add(key);
      let released = false;
      const release = async () => {
        if (!released) {
          released = true;
          held.delete(key);
        }
      };
      // Released when the commit promise settles (see escrow gate), so no store operation is needed.
      return { releaseOps: [], release };
    },
  };
}

export function leasedSlots(store: Store, lease: Lease, owner: string): ChannelSlots {
  const local = localSlots();
  return {
    async acquire(key) {
      // Calls on this replica never need the store to find out they collide.
      const mine = await local.acquire(key);
      if (!mine) return undefined;
      const ok = await store
        .commit({ compare: [{ key, version: 0n }], then: [{ op: "put", key, value: owner, lease: lease.id }] })
        .catch(async (err) => {
          await mine.release();
          throw err;
        });
      if (!ok) {
        await mine.release();
        return undefined;
      }
      return {
        releaseOps: [{ op: "delete", key }],
        async release() {
          await mine.release();
          await store.commit({ compare: [], then: [{ op: "delete", key }] }).catch(() => {
            // The lease expiry will free it; never fail a call over a release.
          });
        },
      };
    },
  };
}
