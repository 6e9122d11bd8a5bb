/**
 * Slot keys of ours that no call holds (payments/leased-slots.ts): a create whose answer was lost, which
 * may still land, or a give-up the store refused. Such a key is suspect until a sweep has found it gone,
 * on another lease, or deleted it — and stays suspect for a while after its last unknown outcome, because
 * a timed-out create can land later. Unswept, such a key would keep the other replicas off its channel for
 * as long as this daemon lives (protocol/state.md#slots-and-leases).
 */
import type { Store } from "../store/contract.ts";

const SWEEP_EVERY_MS = 1000;
/** A key stays suspect this long after its last unknown outcome: a timed-out create can land later. */
const SUSPECT_FOR_MS = 10_000;

const unref = (t: ReturnType<typeof setTimeout>) => (t as { unref?: () => void }).unref?.();

export interface SlotSweepOptions {
  store: Store;
  /** Whether a call of ours holds the key or is taking it right now: such a key is left alone. */
  inUse(key: string): boolean;
  /** The lease our slots go on now: a key on another one is not ours to delete. */
  leaseId(): bigint;
  /** Told when a key of ours that no call held was deleted. */
  onLeftover?: (key: string) => void;
}

export interface SlotSweep {
  /** The key may be ours with no call holding it: sweep it until it is clean. */
  mark(key: string): void;
  /** A call of ours holds the key now: it is no leftover. */
  forget(key: string): void;
  close(): void;
}

/** Sweeps the keys marked suspect every second, while there are any; each sweep never throws. */
export function slotSweep(o: SlotSweepOptions): SlotSweep {
  const suspect = new Map<string, number>();
  let sweeping: ReturnType<typeof setTimeout> | undefined;

  function mark(key: string) {
    suspect.set(key, Date.now());
    if (!sweeping) {
      sweeping = setTimeout(sweep, SWEEP_EVERY_MS);
      unref(sweeping);
    }
  }

  /** Deletes keys of ours that nothing holds; a key stays suspect until it has been clean for a while. */
  async function sweep() {
    for (const [key, since] of [...suspect]) {
      if (o.inUse(key)) continue;
      let clean = false;
      try {
        const entry = await o.store.get(key);
        if (!entry || entry.lease !== o.leaseId()) clean = true;
        else if (await o.store.commit({ compare: [{ key, version: entry.version }], then: [{ op: "delete", key }] })) {
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
    mark,
    forget(key) {
      suspect.delete(key);
    },
    close() {
      if (sweeping) clearTimeout(sweeping);
    },
  };
}
