/**
 * The dashboard's running tallies, fed from the call path with O(1) work per event: calls per minute over
 * the last hour, cogs earned since start, refusals by reason, the latest claims. It also tells the live
 * stream that something changed (`onChange`), so a paid call shows up within a second, not at the next poll.
 *
 * @example
 * const activity = createActivity();
 * gate.onAdmitted = (price) => activity.call(price);
 * gate.onRefused = (err) => activity.refusal(err.message);
 * dashboardApp({ snapshot: () => ({ ...fromStore(), ...activity.snapshot() }), events: activity.onChange });
 */
import type { ClaimRow, DashboardSnapshot, RefusalRow } from "./snapshot.ts";

export interface ActivityOptions {
  /** Minutes of history; default 60. */
  minutes?: number;
  /** Claims kept; default 20. */
  claims?: number;
  /** Distinct refusal reasons kept (the rarest dropped); default 50. */
  reasons?: number;
  /** Milliseconds; default Date.now. */
  clock?: () => number;
}

export interface Activity {
  /** One call served; `earnedCogs` = what it paid, if anything. */
  call(earnedCogs?: bigint): void;
  /** One call refused, by its message (say, "payment signature is not valid"). */
  refusal(reason: string): void;
  claim(row: ClaimRow): void;
  snapshot(): {
    calls: Pick<DashboardSnapshot["calls"], "perMinute" | "total">;
    earnedCogs: bigint;
    claims: ClaimRow[];
    refusals: RefusalRow[];
  };
  /** `listener` runs after each event; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}

export function createActivity(opts: ActivityOptions = {}): Activity {
  const clock = opts.clock ?? Date.now;
  const minutes = opts.minutes ?? 60;
  const counts = new Array<number>(minutes).fill(0);
  let currentMinute = Math.floor(clock() / 60_000);
  let total = 0;
  let earned = 0n;
  const claims: ClaimRow[] = [];
  const refusals = new Map<string, RefusalRow>();
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const l of listeners) l();
  };

  // Moves the ring to the present: minutes without calls become zeros.
  const advance = () => {
    const minute = Math.floor(clock() / 60_000);
    const gap = Math.min(minute - currentMinute, minutes);
    for (let i = 1; i <= gap; i++) counts[(currentMinute + i) % minutes] = 0;
    if (minute > currentMinute) currentMinute = minute;
  };

  return {
    call(earnedCogs) {
      advance();
      counts[currentMinute % minutes] = (counts[currentMinute % minutes] ?? 0) + 1;
      total++;
      if (earnedCogs) earned += earnedCogs;
      changed();
    },
    refusal(reason) {
      const row = refusals.get(reason);
      const at = new Date(clock()).toISOString();
      if (row) {
        row.count++;
        row.last = at;
      } else {
        if (refusals.size >= (opts.reasons ?? 50)) {
          const rarest = [...refusals.values()].reduce((a, b) => (b.count < a.count ? b : a));
          refusals.delete(rarest.reason);
        }
        refusals.set(reason, { reason, count: 1, last: at });
      }
      changed();
    },
    claim(row) {
      claims.unshift(row);
      claims.length = Math.min(claims.length, opts.claims ?? 20);
      changed();
    },
    snapshot() {
      advance();
      const perMinute = Array.from({ length: minutes }, (_, i) => counts[(currentMinute + 1 + i) % minutes] ?? 0);
      return {
        calls: { perMinute, total },
        earnedCogs: earned,
        claims: claims.map((c) => ({ ...c })),
        refusals: [...refusals.values()].map((r) => ({ ...r })).sort((a, b) => b.count - a.count),
      };
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
