/**
 * Channel slots shared by a replica group (etcd): a slot is a key created only if absent, on this
 * daemon's lease, and **kept between calls** — a replica that served a channel keeps it until another
 * replica asks for it, or it goes idle. So a paid call on a channel this replica holds needs no store
 * request before the service runs, and its commit (which compares the slot's version: the slot is still
 * ours) is the call's only transaction (protocol/state.md#slots-and-leases).
 *
 * Handing a channel over: a replica that finds the slot taken writes a request key on its own lease and
 * retries for a short while; the holder watches the request keys and gives the slot up — at once when
 * idle, else in the commit that ends its call. A holder in a call answers at once by deleting the request
 * ("busy"), so the asking replica refuses its call without waiting. A killed holder's slots go with its lease (TTL), so no
 * channel stays blocked (the reference's lock-forever bug). A key on our lease that no call of ours
 * holds — a create whose answer was lost, a release the store refused — is adopted or swept.
 *
 * This file holds the slots a replica holds and answers other replicas' requests; taking a slot (the asking
 * side) is slot-handoff.ts, sweeping leftover keys slot-sweep.ts.
 */
import type { Lease, Operation, Store, WatchEvent, Watcher } from "../store/contract.ts";
import type { Keys } from "../store/records.ts";
import { storeCall } from "./channel-book.ts";
import { type SlotTaker, takeSlot } from "./slot-handoff.ts";
import { slotSweep } from "./slot-sweep.ts";
import type { ChannelSlots, Slot, SlotGuard } from "./slots.ts";

export interface LeasedSlotsOptions {
  /** The key another replica writes to ask for `slotKey`. */
  handoffKey(slotKey: string): string;
  /** The slot a request key asks for (undefined: not a request key). */
  slotKeyOf(handoffKey: string): string | undefined;
  /** Prefix of every request key, watched for requests. */
  handoffPrefix: string;
  /**
   * A slot written by this replica in an earlier life (the value starts with `"<replicaId> "`, on a lease
   * that is not ours any more): taken back at once, since that process is gone (replica-id.ts locks it).
   */
  replicaId?: string;
  /** How long an acquire waits for the holder to hand the channel over before answering "busy". */
  handoffWaitMs?: number;
  /** A held slot with no call for this long is given up (bounds the keys a replica keeps). */
  idleReleaseMs?: number;
  /** Told when a key of ours that no call held was adopted or deleted. */
  onLeftover?: (key: string) => void;
  /** Told when a new lease replaced one the store gave up. */
  onNewLease?: (id: bigint) => void;
}

interface Held {
  readonly key: string;
  /** The slot key's version: our commits compare on it, so a lost slot fails them. */
  readonly version: bigint;
  readonly epoch: number;
  readonly lease: bigint;
  busy: boolean;
  /** Another replica asked for the channel while a call was on it. */
  wanted: boolean;
  idleSince: number;
}

const unref = (t: ReturnType<typeof setTimeout>) => (t as { unref?: () => void }).unref?.();

/** Slots of one replica of a group, on `lease`, handed over on request. */
export function leasedSlots(
  store: Store,
  lease: Lease,
  owner: string,
  o: LeasedSlotsOptions,
): ChannelSlots & { close(): void } {
  const handoffWaitMs = o.handoffWaitMs ?? 1000;
  const idleReleaseMs = o.idleReleaseMs ?? 30_000;
  const held = new Map<string, Held>();
  /** Keys an acquire of this process is taking right now. */
  const taking = new Set<string>();
  let epochs = 0;
  let current: Lease = lease;
  let renewing: Promise<Lease> | undefined;
  let watching: Promise<Watcher | undefined> | undefined;
  const sweep = slotSweep({
    store,
    inUse: (key) => held.has(key) || taking.has(key),
    leaseId: () => current.id,
    onLeftover: (key) => o.onLeftover?.(key),
  });
  const idle = setInterval(releaseIdle, Math.min(idleReleaseMs, 1000));
  unref(idle);

  /** The lease new slots go on; a lease the store gave up is replaced, and what was held on it is gone. */
  async function liveLease(): Promise<Lease> {
    if (current.lost) {
      renewing ??= store
        .grantLease(current.ttlSeconds)
        .then((fresh) => {
          current = fresh;
          o.onNewLease?.(fresh.id);
          return fresh;
        })
        .finally(() => {
          renewing = undefined;
        });
      await renewing;
    }
    for (const h of held.values()) if (h.lease !== current.id && !h.busy) held.delete(h.key);
    return current;
  }

  function onRequest(event: WatchEvent) {
    // Requests made while the watch was down may be in the compacted history: read the ones standing now.
    if (event.type === "compacted") return void relist();
    if (event.type !== "put" || event.entry.value === owner) return;
    const slot = o.slotKeyOf(event.entry.key);
    const h = slot === undefined ? undefined : held.get(slot);
    if (!h) return;
    if (!h.busy) return void giveUp(h);
    // Busy: say so by deleting the request (the asker then refuses at once), and give the slot up after.
    h.wanted = true;
    const request = event.entry;
    void store
      .commit({ compare: [{ key: request.key, version: request.version }], then: [{ op: "delete", key: request.key }] })
      .catch(() => undefined);
  }

  function relist() {
    store.list(o.handoffPrefix).then(
      (entries) => {
        for (const entry of entries) onRequest({ type: "put", entry });
      },
      // Unanswered requests time out on the asking side; the next compaction notice or request tries again.
      () => undefined,
    );
  }

  const ensureWatch = () =>
    (watching ??= store.watch
      ? store.watch(o.handoffPrefix, onRequest).catch(() => undefined)
      : Promise.resolve(undefined));

  function own(key: string, version: bigint, leaseId: bigint): Slot {
    const h: Held = { key, version, epoch: ++epochs, lease: leaseId, busy: true, wanted: false, idleSince: 0 };
    held.set(key, h);
    sweep.forget(key);
    return handle(h);
  }

  function handle(h: Held): Slot {
    let released = false;
    let guardGivesUp = false;
    return {
      epoch: h.epoch,
      guard(opts): SlotGuard {
        guardGivesUp = h.wanted && opts?.keep !== true;
        const ops: Operation[] = guardGivesUp
          ? [
              { op: "delete", key: h.key },
              { op: "delete", key: o.handoffKey(h.key) },
            ]
          : [];
        return { compare: [{ key: h.key, version: h.version }], ops };
      },
      async release(outcome) {
        if (released) return;
        released = true;
        h.busy = false;
        h.idleSince = Date.now();
        if (outcome === "committed" && guardGivesUp) {
          if (held.get(h.key) === h) held.delete(h.key);
          return;
        }
        // After a failed or unknown commit the slot may be gone: stop trusting it (compare-on-version delete).
        if (outcome === "uncertain" || h.wanted || h.lease !== current.id) await giveUp(h);
      },
    };
  }

  /** Deletes our slot iff it is still at our version; never fails (a key left behind is swept). */
  async function giveUp(h: Held): Promise<void> {
    if (held.get(h.key) !== h) return;
    held.delete(h.key);
    try {
      const ok = await store.commit({
        compare: [{ key: h.key, version: h.version }],
        then: [
          { op: "delete", key: h.key },
          { op: "delete", key: o.handoffKey(h.key) },
        ],
      });
      if (!ok) sweep.mark(h.key);
    } catch {
      sweep.mark(h.key);
    }
  }

  function releaseIdle() {
    const now = Date.now();
    for (const h of held.values()) if (!h.busy && now - h.idleSince >= idleReleaseMs) void giveUp(h);
  }

  const taker: SlotTaker = {
    store,
    owner,
    handoffKey: (slotKey) => o.handoffKey(slotKey),
    replicaId: o.replicaId,
    handoffWaitMs,
    ensureWatch,
    markSuspect: (key) => sweep.mark(key),
    own,
    onLeftover: (key) => o.onLeftover?.(key),
  };

  return {
    async acquire(key) {
      const l = await storeCall("take the channel slot", liveLease);
      const h = held.get(key);
      if (h) {
        if (h.busy) return undefined;
        h.busy = true;
        return handle(h);
      }
      // Calls on this replica never need the store to find out they collide.
      if (taking.has(key)) return undefined;
      taking.add(key);
      try {
        return await takeSlot(taker, key, l);
      } finally {
        taking.delete(key);
      }
    },
    close() {
      clearInterval(idle);
      sweep.close();
      void watching?.then((w) => w?.close());
    },
  };
}

/** The slots of one replica of a payment group, with the group's key layout for slots and requests. */
export function replicaSlots(
  store: Store,
  lease: Lease,
  owner: string,
  keys: Keys,
  opts: Pick<LeasedSlotsOptions, "handoffWaitMs" | "idleReleaseMs" | "onLeftover" | "onNewLease" | "replicaId"> = {},
): ChannelSlots & { close(): void } {
  return leasedSlots(store, lease, owner, {
    ...opts,
    handoffPrefix: keys.handoffs,
    handoffKey: (slotKey) => `${keys.handoffs}${slotKey.slice(keys.slots.length)}`,
    slotKeyOf: (handoffKey) =>
      handoffKey.startsWith(keys.handoffs) ? `${keys.slots}${handoffKey.slice(keys.handoffs.length)}` : undefined,
  });
}
