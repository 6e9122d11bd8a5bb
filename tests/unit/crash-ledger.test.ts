// The crash ledger's judgement (tests/kit/crash-ledger.ts), which the crash suites and `npm run crashloop`
// count findings with: a killed payment is stored whole or not at all; anything else is a finding.
import { describe, expect, test } from "bun:test";
import { type Account, newAccount, reconcile } from "../kit/crash-ledger.ts";
import type { Channel } from "../kit/world.ts";

const account = (expected: bigint, inFlight?: bigint): Account => ({
  ...newAccount({ id: 7n } as Channel),
  expected,
  inFlight,
});

describe("reconcile", () => {
  test("the killed payment committed before the kill: the client now expects it", () => {
    const a = account(200n, 300n);
    expect(reconcile(a, 300n)).toBeUndefined();
    expect(a).toMatchObject({ expected: 300n, inFlight: undefined, storedBeforeKill: 1 });
  });

  test("the killed payment not committed: the store holds what was acknowledged", () => {
    const a = account(200n, 300n);
    expect(reconcile(a, 200n)).toBeUndefined();
    expect(a).toMatchObject({ expected: 200n, storedBeforeKill: 0 });
  });

  test("less than acknowledged is a lost amount, and is counted once", () => {
    const a = account(200n, 300n);
    expect(reconcile(a, 100n)).toEqual({ channel: 7n, held: 100n, expected: 200n, kind: "lost" });
    expect(reconcile(a, 100n)).toBeUndefined();
  });

  test("an amount the client never sent is unexplained", () => {
    expect(reconcile(account(200n, 300n), 250n)).toEqual({
      channel: 7n,
      held: 250n,
      expected: 200n,
      kind: "unexplained",
    });
    expect(reconcile(account(200n), 300n)).toMatchObject({ kind: "unexplained" });
  });
});
