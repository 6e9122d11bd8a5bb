/**
 * What a paying client knows while its daemon is being killed (protocol/payments.md#escrow-order invariants b and c), shared
 * by the crash suites (tests/e2e/replicas-crash.test.ts, tests/e2e/crashloop.test.ts) and `npm run
 * crashloop`. Each channel has one client; the ledger holds the amount the store must report for it: every
 * acknowledged payment, plus a killed call's payment when the store shows it was committed before the kill
 * (its reply was lost). Anything else the store reports is a finding, counted rather than thrown, so a long
 * run can report figures.
 *
 * @example
 * const a = newAccount(await world.openFundedChannel());
 * // … pay, kill, restart …
 * const finding = reconcile(a, (await channelState(world, endpoint, a.ch)).amount);
 * const next = await payNext(endpoint, a, world.price, Date.now() + 7000);
 */
import * as grpc from "@grpc/grpc-js";
import { call, echoClient } from "./echo-service.ts";
import type { Channel } from "./world.ts";

export interface Account {
  ch: Channel;
  /** The authorised amount the store must report. */
  expected: bigint;
  /** The payment of a call in flight when the daemon was killed; its fate is read back from the store. */
  inFlight: bigint | undefined;
  /** Acknowledged (OK) paid calls. */
  ok: number;
  /** Killed calls whose payment the store had committed before the kill (the reply was lost). */
  storedBeforeKill: number;
}

export const newAccount = (ch: Channel): Account => ({
  ch,
  expected: 0n,
  inFlight: undefined,
  ok: 0,
  storedBeforeKill: 0,
});

/** What the store holds that the client cannot explain: less than acknowledged (lost), or an amount never sent. */
export interface Finding {
  channel: bigint;
  held: bigint;
  expected: bigint;
  kind: "lost" | "unexplained";
}

/**
 * Reads the fate of the killed call from `held` (the store's authorised amount after restart): committed
 * whole (held = the in-flight amount) or not at all (held = expected). Returns a finding otherwise.
 */
export function reconcile(a: Account, held: bigint): Finding | undefined {
  const inFlight = a.inFlight;
  a.inFlight = undefined;
  if (inFlight !== undefined && held === inFlight) {
    a.storedBeforeKill++;
    a.expected = held;
    return undefined;
  }
  if (held === a.expected) return undefined;
  const finding: Finding = {
    channel: a.ch.id,
    held,
    expected: a.expected,
    kind: held < a.expected ? "lost" : "unexplained",
  };
  // Carry on from what the store holds, so one finding is not counted again at every later kill.
  a.expected = held;
  return finding;
}

/** One paid call through a client of its own (daemons come and go under these suites). */
export async function paidCall(
  endpoint: string,
  method: "Echo" | "Slow",
  md: Record<string, string | Buffer>,
  slowMs = 30_000,
) {
  const client = echoClient(endpoint);
  try {
    return method === "Slow"
      ? await call(client, "Slow", { millis: slowMs }, md)
      : await call(client, "Echo", { text: "paid" }, md);
  } finally {
    client.close();
  }
}

/** The text a channel's slot held by another (or a killed) process is refused with (errors.md). */
export const channelBusyText = (id: bigint) => `another transaction on channel: {ID: ${id}} is in progress`;

/**
 * Pays the next amount (expected + price) through `endpoint`, retrying only while the channel's slot is
 * still held by the killed process, until `deadline` (ms since epoch). The refusal that ended it when the
 * channel stayed blocked, or any other refusal, is returned; OK moves the ledger on.
 */
export async function payNext(
  endpoint: string,
  a: Account,
  price: bigint,
  deadline: number,
): Promise<{ ok: true } | { ok: false; status: { code: number; details: string } }> {
  const next = a.expected + price;
  for (;;) {
    const r = await paidCall(endpoint, "Echo", a.ch.pay(next));
    if (r.status.code === grpc.status.OK) {
      a.expected = next;
      a.ok++;
      return { ok: true };
    }
    const busy = r.status.code === grpc.status.FAILED_PRECONDITION && r.status.details === channelBusyText(a.ch.id);
    if (!busy || Date.now() > deadline) return { ok: false, status: r.status };
    await Bun.sleep(100);
  }
}
