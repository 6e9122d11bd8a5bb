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
 */
import type { Lease, Operation, Store, WatchEvent, Watcher } from "../store/contract.ts";
import type { Keys } from "../store/records.ts";
import { storeCall } from "./channel-book.ts";
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

const SWEEP_EVERY_MS = 1000;
/** A key stays suspect this long after its last unknown outcome: a timed-out create can land later. */
const SUSPECT_FOR_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
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
  const suspect = new Map<string, number>();
  let epochs = 0;
  let current: Lease = lease;
  let renewing: Promise<Lease> | undefined;
  let watching: Promise<Watcher | undefined> | undefined;
  let sweeping: ReturnType<typeof setTimeout> | undefined;
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
    suspect.delete(key);
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
      if (!ok) markSuspect(h.key);
    } catch {
      markSuspect(h.key);
    }
  }

  function releaseIdle() {
    const now = Date.now();
    for (const h of held.values()) if (!h.busy && now - h.idleSince >= idleReleaseMs) void giveUp(h);
  }

  async function take(key: string, l: Lease): Promise<Slot | undefined> {
    await ensureWatch();
    const deadline = Date.now() + handoffWaitMs;
    let asked = false;
    for (let attempt = 0; ; attempt++) {
      const ops: Operation[] = [{ op: "put", key, value: owner, lease: l.id }];
      if (asked) ops.push({ op: "delete", key: o.handoffKey(key) });
      let created: Awaited<ReturnType<Store["transact"]>>;
      try {
        created = await storeCall("take the channel slot", () =>
          store.transact({ compare: [{ key, version: 0n }], then: ops }),
        );
      } catch (err) {
        // The create may still land; the sweep deletes it if it does.
        markSuspect(key);
        throw err;
      }
      if (created.succeeded) return own(key, created.revision, l.id);
      const entry = await storeCall("take the channel slot", () => store.get(key));
      if (!entry) continue;
      if (entry.lease === l.id || (o.replicaId !== undefined && entry.value.startsWith(`${o.replicaId} `))) {
        // Ours, and no call of ours holds it: a create whose answer was lost, a release that failed, or a
        // slot this replica held before it was killed and restarted.
        // Rewritten before it is held, so a sweep that saw the old version can no longer delete it.
        const adopted = await storeCall("take the channel slot", () =>
          store.transact({ compare: [{ key, version: entry.version }], then: ops }),
        );
        if (!adopted.succeeded) continue;
        o.onLeftover?.(key);
        return own(key, adopted.revision, l.id);
      }
      // Our request gone while the slot is still another's: its holder answered "busy".
      if (asked && !(await storeCall("ask for the channel slot", () => store.get(o.handoffKey(key))))) return undefined;
      if (Date.now() >= deadline) {
        if (asked)
          void store.commit({ compare: [], then: [{ op: "delete", key: o.handoffKey(key) }] }).catch(() => undefined);
        return undefined;
      }
      if (!asked) {
        await storeCall("ask for the channel slot", () =>
          store.commit({ compare: [], then: [{ op: "put", key: o.handoffKey(key), value: owner, lease: l.id }] }),
        );
        asked = true;
      }
      await sleep(Math.min(5 * 2 ** attempt, 100, Math.max(deadline - Date.now(), 1)));
    }
  }

  function markSuspect(key: string) {
    suspect.set(key, Date.now());
    if (!sweeping) {
      sweeping = setTimeout(sweep, SWEEP_EVERY_MS);
      unref(sweeping);
    }
  }

  /** Deletes keys of ours that nothing holds; a key stays suspect until it has been clean for a while. */
  async function sweep() {
    for (const [key, since] of [...suspect]) {
      if (held.has(key) || taking.has(key)) continue;
      let clean = false;
      try {
        const entry = await store.get(key);
        if (!entry || entry.lease !== current.id) clean = true;
        else if (await store.commit({ compare: [{ key, version: entry.version }], then: [{ op: "delete", key }] })) {
          o.onLeftover?.(key);
          clean = true;
        }
      } catch {
        // Still unknown: look again next round.
      }
      if (clean && Date.now() - since >= SUSPECT_FOR_MS && suspect.get(key) === since) suspect.delete(key);
    }
    sweeping = undefined;
    if (suspect.size > 0) {
      sweeping = setTimeout(sweep, SWEEP_EVERY_MS);
      unref(sweeping);
    }
  }

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
        return await take(key, l);
      } finally {
        taking.delete(key);
      }
    },
    close() {
      clearInterval(idle);
      if (sweeping) clearTimeout(sweeping);
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
