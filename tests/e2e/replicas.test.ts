// A replica group on etcd end to end (issue 4): three dist/snetd daemons in one payment group share a
// 3-member etcd cluster and behave as one daemon. Many stateless clients pay concurrently through
// different replicas; the same signature sent to two replicas at once pays for one call; losing one
// member keeps calls going, losing two fails paid calls closed (UNAVAILABLE, service never called), and
// restoring them brings calls back with no accepted amount lost (protocol/payments.md#escrow-invariants).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { type DaemonProcess, ensureBinary, startDaemon } from "../kit/daemon.ts";
import { call, echoClient } from "../kit/echo-service.ts";
import { type EtcdCluster, type EtcdMember, isEtcdLeader, startEtcd } from "../kit/etcd.ts";
import { decodeState, type StateRpc, stateRequest, stateRpc } from "../kit/paid-daemon.ts";
import { until as waitUntil } from "../kit/wait.ts";
import { type Channel, startWorld, type World } from "../kit/world.ts";

const REPLICAS = 3;
/** Short, so that a quorum outage outlives the daemons' leases within a few seconds (see the member-loss test). */
const LEASE_TTL_S = 2;
const CALL_DEADLINE_MS = 15_000;
const E2E_TIMEOUT_MS = 120_000;

let world: World;
let etcd: EtcdCluster;
const daemons: DaemonProcess[] = [];
const echoClients: grpc.Client[] = [];
const stateClients: StateRpc[] = [];

beforeAll(async () => {
  await ensureBinary();
  [world, etcd] = await Promise.all([startWorld(), startEtcd({ members: 3 })]);
  const config = world.daemonConfig({
    payment_channel_storage_type: "etcd",
    payment_channel_storage_client: { endpoints: etcd.endpoints },
    channel_lease_ttl_s: LEASE_TTL_S,
    log: { level: "info" },
  });
  // Each replica gets its own daemon_endpoint (startDaemon picks a free port) and data dir.
  const started = await Promise.allSettled(
    Array.from({ length: REPLICAS }, () => startDaemon({ config, binary: true })),
  );
  for (const s of started) if (s.status === "fulfilled") daemons.push(s.value);
  for (const s of started) if (s.status === "rejected") throw s.reason;
  for (const d of daemons) {
    echoClients.push(echoClient(d.endpoint));
    stateClients.push(stateRpc(d.endpoint));
  }
}, 120_000);

afterAll(async () => {
  for (const c of echoClients) c.close();
  for (const c of stateClients) c.close();
  await Promise.all(daemons.map((d) => d.stop()));
  await etcd?.stop();
  await world?.stop();
}, 60_000);

/** Runs `fn`; on failure prints every replica's last log lines. */
async function withLogs<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    for (const d of daemons) console.error(`replica ${d.endpoint} last log lines:\n${d.logs()}`);
    throw err;
  }
}

let roundRobin = 0;
const nextReplica = () => roundRobin++ % REPLICAS;

type StateReply = { ok: true; nonce: bigint; amount: bigint } | { ok: false; code: number; details: string };

async function readState(ch: Channel, replica: number): Promise<StateReply> {
  const r = await stateClients[replica]!.call(stateRequest(world, ch, await world.head()));
  if (r.status.code !== grpc.status.OK) return { ok: false, ...r.status };
  const { nonce, amount } = decodeState(r.reply!);
  return { ok: true, nonce, amount };
}

/** State from any replica, retrying (other replicas, a moment later) while the store is unavailable. */
async function stateOf(ch: Channel): Promise<{ nonce: bigint; amount: bigint }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const s = await readState(ch, nextReplica());
    if (s.ok) return s;
    if (s.code !== grpc.status.UNAVAILABLE || Date.now() > deadline)
      throw new Error(`GetChannelState of channel ${ch.id} failed: ${s.code} ${s.details}`);
    await Bun.sleep(100);
  }
}

/** What happened to the calls of one channel, as its clients saw it. */
interface Tally {
  ok: number;
  busy: number;
  stale: number;
  /**
   * Refused with UNAVAILABLE before reaching the service (store unreachable or without quorum). The charge
   * is written before the service runs, so such a call was never served; a charge whose outcome the store
   * left unknown is given back by the daemon.
   */
  unavailable: number;
}
const newTally = (): Tally => ({ ok: 0, busy: 0, stale: 0, unavailable: 0 });

/**
 * One call of a stateless client: state from one replica, the call through the next. Returns false when
 * the client should simply try again (busy, stale state, store unavailable); throws on anything else.
 */
async function payOnce(ch: Channel, tally: Tally, opts: { allowUnavailable: boolean }): Promise<boolean> {
  const state = await readState(ch, nextReplica());
  if (!state.ok) {
    if (opts.allowUnavailable && state.code === grpc.status.UNAVAILABLE) return false;
    throw new Error(`GetChannelState of channel ${ch.id} failed: ${state.code} ${state.details}`);
  }
  const r = await call(
    echoClients[nextReplica()]!,
    "Echo",
    { text: "paid" },
    ch.pay(state.amount + world.price, state.nonce),
    { deadlineMs: CALL_DEADLINE_MS },
  );
  const { code, details } = r.status;
  if (code === grpc.status.OK) {
    tally.ok++;
    return true;
  }
  if (
    code === grpc.status.FAILED_PRECONDITION &&
    details === `another transaction on channel: {ID: ${ch.id}} is in progress`
  )
    tally.busy++;
  // Another client of the channel paid between our state read and our call.
  else if (code === grpc.status.UNAUTHENTICATED && details.startsWith("income ")) tally.stale++;
  else if (opts.allowUnavailable && code === grpc.status.UNAVAILABLE) tally.unavailable++;
  else throw new Error(`paid call on channel ${ch.id} failed unexpectedly: ${code} ${details}`);
  return false;
}

/** A client paying on `ch` until `done()`; a short pause after a refusal keeps retries from spinning. */
async function payLoop(
  ch: Channel,
  tally: Tally,
  done: () => boolean,
  opts: { allowUnavailable: boolean },
): Promise<void> {
  while (!done()) {
    if (!(await payOnce(ch, tally, opts))) await Bun.sleep(5 + Math.random() * 20);
  }
}

/** One stateless client per channel paying until stopped; `stop()` waits for them all, even after a failure. */
function startLoad(channels: Channel[], tallies: Tally[]) {
  let stopped = false;
  const clients = channels.map((ch, i) => payLoop(ch, tallies[i]!, () => stopped, { allowUnavailable: true }));
  let failure: unknown;
  for (const c of clients) c.catch((err: unknown) => (failure ??= err));
  return {
    /** Throws the first client failure, if any, so a waiting test stops at once. */
    check() {
      if (failure !== undefined) throw failure;
    },
    async stop() {
      stopped = true;
      await Promise.allSettled(clients);
      this.check();
    },
  };
}

/** Polls until `ready()` holds; load and member changes take longer than the kit's default wait. */
const until = (ready: () => boolean, what: string) => waitUntil(ready, what, { timeoutMs: 30_000, intervalMs: 20 });

/** The books balance: every channel's authorised amount is the price of its successful calls, exactly. */
async function expectExactAccounts(channels: Channel[], tallies: Tally[]): Promise<void> {
  for (const [i, ch] of channels.entries()) {
    const { amount } = await stateOf(ch);
    expect({ channel: ch.id, amount }).toEqual({ channel: ch.id, amount: world.price * BigInt(tallies[i]!.ok) });
  }
}

const sum = (tallies: Tally[], k: keyof Tally) => tallies.reduce((n, t) => n + t[k], 0);

describe("three replicas on one etcd cluster", () => {
  test(
    "many stateless clients on shared and separate channels: every channel is paid exactly its successful calls",
    async () => {
      await withLogs(async () => {
        const CHANNELS = 6;
        const CALLS = 20;
        const channels: Channel[] = [];
        for (let i = 0; i < CHANNELS; i++) channels.push(await world.openFundedChannel());
        const tallies = channels.map(newTally);
        const serviceBefore = world.echo.calls;
        // Channels 0–2 are shared by three clients each, 3–5 have one client each.
        const clients = channels.flatMap((ch, i) =>
          Array.from({ length: i < 3 ? 3 : 1 }, () =>
            payLoop(ch, tallies[i]!, () => tallies[i]!.ok >= CALLS, { allowUnavailable: false }),
          ),
        );
        await Promise.all(clients);

        console.log(
          `replicas: ${sum(tallies, "ok")} paid calls, ${sum(tallies, "busy")} refused as busy, ${sum(tallies, "stale")} as stale`,
        );
        for (const t of tallies) expect(t.ok).toBeGreaterThanOrEqual(CALLS);
        // Three clients on one channel must have collided: the slot and the stale-amount checks both worked.
        expect(sum(tallies.slice(0, 3), "busy") + sum(tallies.slice(0, 3), "stale")).toBeGreaterThan(0);
        await expectExactAccounts(channels, tallies);
        // No call reached the service without being paid.
        expect(world.echo.calls - serviceBefore).toBe(sum(tallies, "ok"));
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a call in flight on one replica makes the channel busy on the others",
    async () => {
      await withLogs(async () => {
        const ch = await world.openFundedChannel();
        const md = ch.pay(world.price);
        const before = world.echo.calls;
        const slow = call(echoClients[0]!, "Slow", { millis: 3000 }, md);
        await until(() => world.echo.calls === before + 1, "the Slow call to reach the service");
        for (const replica of [1, 2]) {
          for (const amount of [world.price, 2n * world.price]) {
            const r = await call(echoClients[replica]!, "Echo", { text: "meanwhile" }, ch.pay(amount));
            expect(r.status).toEqual({
              code: grpc.status.FAILED_PRECONDITION,
              details: `another transaction on channel: {ID: ${ch.id}} is in progress`,
            });
          }
        }
        expect((await slow).status.code).toBe(grpc.status.OK);
        expect(world.echo.calls).toBe(before + 1);
        expect((await stateOf(ch)).amount).toBe(world.price);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "the same signature sent to two replicas at once is accepted exactly once, every time",
    async () => {
      await withLogs(async () => {
        const ROUNDS = 10;
        const ch = await world.openFundedChannel();
        for (let round = 0; round < ROUNDS; round++) {
          const { amount, nonce } = await stateOf(ch);
          expect(amount).toBe(world.price * BigInt(round));
          const md = ch.pay(amount + world.price, nonce);
          const before = world.echo.calls;
          const pair = [round % REPLICAS, (round + 1) % REPLICAS];
          const results = await Promise.all(
            pair.map((replica) => call(echoClients[replica]!, "Slow", { millis: 200 }, md)),
          );
          expect(results.filter((r) => r.status.code === grpc.status.OK)).toHaveLength(1);
          // Busy if it arrived while the other was in flight, a replay (income 0) if after.
          const refused = results.find((r) => r.status.code !== grpc.status.OK)!;
          expect([
            {
              code: grpc.status.FAILED_PRECONDITION,
              details: `another transaction on channel: {ID: ${ch.id}} is in progress`,
            },
            { code: grpc.status.UNAUTHENTICATED, details: `income 0 does not equal to price ${world.price}` },
          ]).toContainEqual(refused.status);
          expect(world.echo.calls).toBe(before + 1);
        }
        expect((await stateOf(ch)).amount).toBe(world.price * BigInt(ROUNDS));
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "member loss: one member down keeps calls going, two fail them closed, restoring them loses nothing",
    async () => {
      await withLogs(async () => {
        const channels: Channel[] = [];
        for (let i = 0; i < 3; i++) channels.push(await world.openFundedChannel());
        const tallies = channels.map(newTally);
        const serviceBefore = world.echo.calls;
        const paid = () => sum(tallies, "ok");

        let load = startLoad(channels, tallies);
        /** Polls `ready()` while the load runs, stopping at the first client failure. */
        const whilePaying = (ready: () => boolean, what: string) =>
          until(() => {
            load.check();
            return ready();
          }, what);
        let first: EtcdMember;
        try {
          await whilePaying(() => paid() >= 10, "paid calls before the first member is killed");
          first = await leader(etcd.members);
          await first.kill();
          const afterFirst = paid();
          // Leader election may refuse a few calls with UNAVAILABLE; the clients retry and get through.
          await whilePaying(() => paid() >= afterFirst + 20, "paid calls with one etcd member down");
        } finally {
          await load.stop();
        }

        const known = await Promise.all(channels.map((ch) => stateOf(ch)));
        const second = etcd.members.find((m) => m !== first)!;
        await second.kill();
        const outageStart = Date.now();
        const serviceAtOutage = world.echo.calls;
        // Every replica, every channel: refused, and the service is never called. UNAVAILABLE, or busy where a
        // replica still holds the channel to give back a charge of the first outage whose outcome was unknown.
        const refused = await Promise.all(
          channels.flatMap((ch, i) =>
            daemons.map((_, replica) =>
              call(
                echoClients[replica]!,
                "Echo",
                { text: "no quorum" },
                ch.pay(known[i]!.amount + world.price, known[i]!.nonce),
                { deadlineMs: CALL_DEADLINE_MS },
              ),
            ),
          ),
        );
        for (const r of refused) {
          if (r.status.code === grpc.status.FAILED_PRECONDITION)
            expect(r.status.details).toMatch(/^another transaction on channel: \{ID: \d+\} is in progress$/);
          else
            expect(r.status).toEqual({
              code: grpc.status.UNAVAILABLE,
              details: expect.stringMatching(/^payment state is unavailable/),
            });
        }
        expect(world.echo.calls).toBe(serviceAtOutage);
        // Outlive the daemons' lease renewals (the store gives a lease up after 2 TTLs without a renewal).
        await Bun.sleep(Math.max(0, outageStart + 2 * LEASE_TTL_S * 1000 + 1000 - Date.now()));

        // Both must come back together: a lone member of three has no quorum, so is never healthy.
        await Promise.all([first.restart(), second.restart()]);
        const afterRestore = paid();
        load = startLoad(channels, tallies);
        try {
          await whilePaying(
            () => tallies.every((t) => t.ok >= 1) && paid() >= afterRestore + 20,
            "paid calls after the members are back",
          );
          // Past the lease TTL after the restore: a daemon whose lease died with the outage would now be
          // unable to take any slot, so keep paying through every replica.
          await Bun.sleep(LEASE_TTL_S * 1000 + 1000);
          const later = paid();
          await whilePaying(() => paid() >= later + 20, "paid calls a lease TTL after the members are back");
        } finally {
          await load.stop();
        }
        for (let replica = 0; replica < REPLICAS; replica++) {
          for (const ch of channels) {
            const s = await stateOf(ch);
            const r = await call(
              echoClients[replica]!,
              "Echo",
              { text: "after" },
              ch.pay(s.amount + world.price, s.nonce),
              { deadlineMs: CALL_DEADLINE_MS },
            );
            expect({ replica, code: r.status.code, details: r.status.details }).toEqual({
              replica,
              code: grpc.status.OK,
              details: "OK",
            });
            tallies[channels.indexOf(ch)]!.ok++;
          }
        }

        console.log(
          `member loss: ${paid()} paid calls, ${sum(tallies, "unavailable")} refused UNAVAILABLE before the service, ` +
            `${sum(tallies, "busy")} busy, ${sum(tallies, "stale")} stale`,
        );
        await expectExactAccounts(channels, tallies);
        // Every call that reached the service was paid: the charge comes first, so no refused call was served.
        expect(world.echo.calls - serviceBefore).toBe(paid());
      });
    },
    E2E_TIMEOUT_MS,
  );
});

/** The member that is the current raft leader, asked of the members themselves. */
async function leader(members: EtcdMember[]): Promise<EtcdMember> {
  for (const m of members) if (await isEtcdLeader(m.clientUrl)) return m;
  throw new Error("no etcd member reports itself as leader");
}
