/**
 * The dashboard's tallies (src/ops/dashboard/activity.ts) on a hand-moved clock: calls per minute over a
 * ring of minutes, earnings as bigint, refusals by reason with bounded memory, latest claims first.
 */
import { describe, expect, test } from "bun:test";
import { createActivity } from "../../src/ops/dashboard/activity.ts";

function clock(start: number) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("activity", () => {
  test("calls land in their minute; quiet minutes read zero; old minutes fall off", () => {
    const c = clock(Date.UTC(2026, 0, 1, 12, 0, 0));
    const a = createActivity({ minutes: 5, clock: c.now });
    a.call(10n);
    a.call(5n);
    c.advance(60_000);
    a.call();
    expect(a.snapshot().calls).toEqual({ perMinute: [0, 0, 0, 2, 1], total: 3 });
    c.advance(3 * 60_000);
    expect(a.snapshot().calls.perMinute).toEqual([2, 1, 0, 0, 0]);
    c.advance(60 * 60_000);
    expect(a.snapshot().calls.perMinute).toEqual([0, 0, 0, 0, 0]);
    expect(a.snapshot().earnedCogs).toBe(15n);
  });

  test("refusals are counted by reason, most frequent first, the rarest dropped past the bound", () => {
    const c = clock(0);
    const a = createActivity({ reasons: 2, clock: c.now });
    a.refusal("rate limiting , too many requests to handle");
    a.refusal("rate limiting , too many requests to handle");
    a.refusal("payment signature is not valid");
    a.refusal("channel expired");
    expect(a.snapshot().refusals.map((r) => [r.reason, r.count])).toEqual([
      ["rate limiting , too many requests to handle", 2],
      ["channel expired", 1],
    ]);
  });

  test("claims are kept newest first, up to the bound, and every event notifies", () => {
    const a = createActivity({ claims: 2 });
    let notified = 0;
    const off = a.onChange(() => notified++);
    for (const id of [1n, 2n, 3n])
      a.claim({ at: new Date().toISOString(), channelIds: [id], amountCogs: id * 100n, status: "mined" });
    a.call();
    a.refusal("x");
    off();
    a.call();
    expect(a.snapshot().claims.map((c) => c.channelIds[0])).toEqual([3n, 2n]);
    expect(notified).toBe(5);
  });
});
