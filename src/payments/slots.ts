/**
 * The exclusive slot of a channel (protocol/payments.md#escrow-invariants): at most one escrow call,
 * token request or claim per channel reaches the service or the store at a time, across every replica.
 *
 * - One process owning its store (SQLite, memory): a set in memory (`localSlots`). A crash frees it with
 *   the process.
 * - A shared store (etcd): a key on this daemon's lease that the daemon keeps between calls, so that a
 *   paid call on a channel this replica already holds costs one store transaction (leased-slots.ts).
 */
import type { Compare, Operation } from "../store/contract.ts";

/** What a commit that ends a call must carry for its slot. */
export interface SlotGuard {
  /** Fail the commit if the slot was lost meanwhile (another replica may hold the channel now). */
  readonly compare: readonly Compare[];
  /** Give the slot up in the same transaction (another replica asked for the channel). */
  readonly ops: readonly Operation[];
}

/**
 * How a call on a slot ended: "committed" — a commit carrying `guard()` went through; "unchanged" —
 * nothing was written (refused, or the service failed); "uncertain" — a commit failed or its outcome is
 * unknown, so whether the slot is still ours is unknown too.
 */
export type SlotOutcome = "committed" | "unchanged" | "uncertain";

export interface Slot {
  /**
   * Unchanged for as long as this process has held the channel without interruption: a cached copy of the
   * channel record made under the same epoch is still the stored one (nobody else can have written it).
   */
  readonly epoch: number;
  /**
   * Compares and operations for a commit made under the slot, read when the commit is built. `keep`: the
   * commit does not end the slot's use (a call's charge before the service runs), so it never gives it up.
   */
  guard(opts?: { keep?: boolean }): SlotGuard;
  /** Ends the call on the slot. */
  release(outcome: SlotOutcome): Promise<void>;
}

export interface ChannelSlots {
  /** Undefined when another call holds the slot. */
  acquire(key: string): Promise<Slot | undefined>;
}

const NO_GUARD: SlotGuard = { compare: [], ops: [] };

/** Slots of a process that owns its store: a set in memory; every record it reads stays its own. */
export function localSlots(): ChannelSlots {
  const held = new Set<string>();
  return {
    async acquire(key) {
      if (held.has(key)) return undefined;
      held.add(key);
      let released = false;
      return {
        epoch: 0,
        guard: () => NO_GUARD,
        async release() {
          if (released) return;
          released = true;
          held.delete(key);
        },
      };
    },
  };
}
