/**
 * Taking a channel's slot on a shared store (leased-slots.ts), the asking side of a handoff: the slot key is
 * created if absent, or adopted when it is ours and no call of ours holds it (a create whose answer was
 * lost, a release that failed, this replica before a restart); else a request key asks its holder for it,
 * and the create is tried again, backing off, until the holder gives the slot up, answers "busy" by deleting
 * the request, or the wait is over (protocol/state.md#slots-and-leases).
 */
import type { Lease, Operation, Store } from "../store/contract.ts";
import { storeCall } from "./channel-book.ts";
import type { Slot } from "./slots.ts";

/** What taking a slot needs of the replica's slots (leased-slots.ts). */
export interface SlotTaker {
  store: Store;
  /** The value of the slot and request keys this replica writes. */
  owner: string;
  /** The key that asks for `slotKey`. */
  handoffKey(slotKey: string): string;
  /** A slot whose value starts with `"<replicaId> "` is this replica's from before a restart (if set). */
  replicaId: string | undefined;
  /** How long to wait for the holder to hand the channel over before answering "busy". */
  handoffWaitMs: number;
  /** Starts watching for other replicas' requests before this one may hold a slot. */
  ensureWatch(): Promise<unknown>;
  /** The key may be ours with no call holding it (an unknown outcome): sweep it. */
  markSuspect(key: string): void;
  /** Makes the taken key a held slot at `version`, the version its commits compare on. */
  own(key: string, version: bigint, leaseId: bigint): Slot;
  /** Told when a key of ours that no call held was adopted. */
  onLeftover?: (key: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The slot of `key` on lease `l`, or undefined when another replica holds it and does not hand it over in
 * time ("busy"). Throws what the store throws; a create whose outcome is unknown is marked for the sweep.
 */
export async function takeSlot(d: SlotTaker, key: string, l: Lease): Promise<Slot | undefined> {
  await d.ensureWatch();
  const deadline = Date.now() + d.handoffWaitMs;
  let asked = false;
  for (let attempt = 0; ; attempt++) {
    const ops: Operation[] = [{ op: "put", key, value: d.owner, lease: l.id }];
    if (asked) ops.push({ op: "delete", key: d.handoffKey(key) });
    let created: Awaited<ReturnType<Store["transact"]>>;
    try {
      created = await storeCall("take the channel slot", () =>
        d.store.transact({ compare: [{ key, version: 0n }], then: ops }),
      );
    } catch (err) {
      // The create may still land; the sweep deletes it if it does.
      d.markSuspect(key);
      throw err;
    }
    if (created.succeeded) return d.own(key, created.revision, l.id);
    const entry = await storeCall("take the channel slot", () => d.store.get(key));
    if (!entry) continue;
    if (entry.lease === l.id || (d.replicaId !== undefined && entry.value.startsWith(`${d.replicaId} `))) {
      // Ours, and no call of ours holds it: a create whose answer was lost, a release that failed, or a
      // slot this replica held before it was killed and restarted.
      // Rewritten before it is held, so a sweep that saw the old version can no longer delete it.
      const adopted = await storeCall("take the channel slot", () =>
        d.store.transact({ compare: [{ key, version: entry.version }], then: ops }),
      );
      if (!adopted.succeeded) continue;
      d.onLeftover?.(key);
      return d.own(key, adopted.revision, l.id);
    }
    // Our request gone while the slot is still another's: its holder answered "busy".
    if (asked && !(await storeCall("ask for the channel slot", () => d.store.get(d.handoffKey(key))))) return undefined;
    if (Date.now() >= deadline) {
      if (asked)
        void d.store.commit({ compare: [], then: [{ op: "delete", key: d.handoffKey(key) }] }).catch(() => undefined);
      return undefined;
    }
    if (!asked) {
      await storeCall("ask for the channel slot", () =>
        d.store.commit({ compare: [], then: [{ op: "put", key: d.handoffKey(key), value: d.owner, lease: l.id }] }),
      );
      asked = true;
    }
    await sleep(Math.min(5 * 2 ** attempt, 100, Math.max(deadline - Date.now(), 1)));
  }
}
