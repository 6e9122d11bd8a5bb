/**
 * The exclusive in-flight slot of a channel (protocol/payments.md#escrow-invariants): at most one escrow call per
 * channel reaches the service at a time, across every replica of the group.
 *
 * - One process owning its store (SQLite, memory): a set in memory. A crash frees it with the process.
 * - A shared store (etcd): a key attached to this daemon's lease, created only if absent. A killed
 *   daemon's slots vanish when its lease expires (TTL), so no
 *   channel stays blocked (protocol/reference-differences.md#d1).
 *
 * A live daemon must not block a channel either. Its lease outlives any one call, so a slot key it failed
 * to delete (store unreachable at release) or created without knowing it (a create whose answer was lost,
 * landing later) would block the channel on every other replica for the daemon's whole life. Such keys
 * are ours to clean: any slot key on our lease that no call of ours holds is a leftover. It is deleted
 * when the next call on this replica finds it, and by a background sweep of the keys whose fate is unknown.
 */
import type { Lease, Operation, Store } from "../store/contract.ts";
import { storeCall } from "./channel-book.ts";

export interface Slot {
  /** Operations to add to the commit that ends the call, releasing the slot atomically with it. */
  readonly releaseOps: readonly Operation[];
  /**
   * Releases the slot. Without `committed`, the call was refused or failed and the store is told; with
   * it, a commit carrying `releaseOps` succeeded, so the store has already released it.
   */
  release(opts?: { committed?: boolean }): Promise<void>;
}

export interface ChannelSlots {
  /** Undefined when another call holds the slot. */
  acquire(key: string): Promise<Slot | undefined>;
}

/** Slots of a process that owns its store: a set in memory. */
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

const SWEEP_EVERY_MS = 1000;
/**
 * How long a key stays suspect after its last unknown outcome. A create that timed out can still be
 * applied once etcd answers again, so one clean look right after an outage is not enough.
 */
const SUSPECT_FOR_MS = 10_000;

export interface LeasedSlotsOptions {
  /** Told when a leftover slot of ours was found and deleted (the key). */
  onLeftover?: (key: string) => void;
  /** Told when a new lease replaced one the store gave up (its id). */
  onNewLease?: (id: bigint) => void;
}

/** Slots shared by replicas: keys created only if absent, on this daemon's lease. */
export function leasedSlots(store: Store, lease: Lease, owner: string, opts: LeasedSlotsOptions = {}): ChannelSlots {
  /**
   * The lease new slots go on. A lease given up after an outage longer than two TTLs is never renewed
   * again, and every slot created on it would fail for the rest of the daemon's life: take a new one.
   */
  let current: Lease = lease;
  let renewing: Promise<Lease> | undefined;
  const liveLease = (): Promise<Lease> => {
    if (!current.lost) return Promise.resolve(current);
    renewing ??= store
      .grantLease(current.ttlSeconds)
      .then((fresh) => {
        current = fresh;
        opts.onNewLease?.(fresh.id);
        return fresh;
      })
      .finally(() => {
        renewing = undefined;
      });
    return renewing;
  };
  /** Keys a call of this process holds right now; a slot key on our lease outside this set is a leftover. */
  const held = new Set<string>();
  /** Keys that may hold a leftover of ours, with the time of the last unknown outcome. */
  const suspect = new Map<string, number>();
  let sweeping: ReturnType<typeof setTimeout> | undefined;

  /**
   * Deletes `key` iff it is a slot on our lease that no call of ours holds (`acquiring`: but the caller,
   * which holds it locally and has not created it yet). "free": the key is absent or was just deleted;
   * "other": another replica's slot, a call of ours, or a leftover on a lease we gave up (it expires
   * with that lease); "raced": the key changed under us, look again.
   */
  async function clearLeftover(key: string, acquiring = false): Promise<"free" | "other" | "raced"> {
    const entry = await store.get(key);
    if (!entry) return "free";
    if ((!acquiring && held.has(key)) || entry.lease !== current.id) return "other";
    if (!(await store.commit({ compare: [{ key, version: entry.version }], then: [{ op: "delete", key }] }))) return "raced";
    opts.onLeftover?.(key);
    return "free";
  }

  function markSuspect(key: string) {
    suspect.set(key, Date.now());
    sweeping ??= setTimeout(sweep, SWEEP_EVERY_MS);
    // Never keeps a stopping daemon alive; a leftover then goes with the lease.
    (sweeping as { unref?: () => void }).unref?.();
  }

  async function sweep() {
    for (const [key, since] of [...suspect]) {
      if (held.has(key)) continue;
      const clean = (await clearLeftover(key).catch(() => "raced")) !== "raced";
      if (clean && Date.now() - since >= SUSPECT_FOR_MS && suspect.get(key) === since) suspect.delete(key);
    }
    sweeping = undefined;
    if (suspect.size > 0) {
      sweeping = setTimeout(sweep, SWEEP_EVERY_MS);
      (sweeping as { unref?: () => void }).unref?.();
    }
  }

  const create = async (key: string) => {
    const { id } = await liveLease();
    return store.commit({ compare: [{ key, version: 0n }], then: [{ op: "put", key, value: owner, lease: id }] });
  };

  async function release(key: string) {
    try {
      // Only our own key: after a lease loss another replica may hold the slot by now.
      if ((await clearLeftover(key)) === "raced") markSuspect(key);
    } catch {
      markSuspect(key);
    }
  }

  return {
    async acquire(key) {
      // Calls on this replica never need the store to find out they collide.
      if (held.has(key)) return undefined;
      held.add(key);
      let ok: boolean;
      try {
        ok = await storeCall("take the channel slot", () => create(key));
        // A leftover of ours is not a call in flight: clear it and take the slot.
        if (!ok && (await storeCall("take the channel slot", () => clearLeftover(key, true))) === "free") ok = await storeCall("take the channel slot", () => create(key));
      } catch (err) {
        held.delete(key);
        // The create may still land; the sweep deletes it if it does.
        markSuspect(key);
        throw err;
      }
      if (!ok) {
        held.delete(key);
        return undefined;
      }
      let released = false;
      return {
        releaseOps: [{ op: "delete", key }],
        async release(how) {
          if (released) return;
          released = true;
          held.delete(key);
          if (how?.committed) return;
          // Never fail a call over a release; a key left behind is swept.
          await release(key);
        },
      };
    },
  };
}
