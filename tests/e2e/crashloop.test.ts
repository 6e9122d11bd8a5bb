// The crash-safety figure in small (issue 16; README "Reliability"): dist/snetd SIGKILLed at random points of
// concurrent paid calls and restarted, 50 times on the embedded store and 20 times on etcd (whose kills
// each wait out a slot lease). No channel may stay stuck, no acknowledged amount may be lost, and the
// treasurer must claim every one. `npm run crashloop -- --kills 1000` runs the long form.
import { describe, expect, test } from "bun:test";
import { type CrashLoopReport, formatReport, runCrashLoop } from "../kit/crashloop.ts";

const KILLS = { sqlite: 50, etcd: 20 } as const;

function expectSafe(r: CrashLoopReport, kills: number): void {
  console.log(formatReport(r));
  expect(r.kills).toBe(kills);
  expect(r.stuckChannels).toBe(0);
  expect(r.findings).toEqual([]);
  expect(r.unclaimedCogs).toBe(0n);
  expect(r.refusedBeforeKill).toEqual([]);
  // The loop did pay: every kill interrupted calls that were flowing.
  expect(r.acknowledged).toBeGreaterThan(kills);
}

describe("SIGKILL at random points of paid calls, then restart", () => {
  test(`${KILLS.sqlite} kills on the embedded store: nothing stuck, nothing lost, everything claimable`, async () => {
    expectSafe(await runCrashLoop({ kills: KILLS.sqlite, store: "sqlite" }), KILLS.sqlite);
  }, 600_000);

  test(`${KILLS.etcd} kills on etcd: nothing stuck after the lease TTL, nothing lost, everything claimable`, async () => {
    expectSafe(await runCrashLoop({ kills: KILLS.etcd, store: "etcd" }), KILLS.etcd);
  }, 600_000);
});
