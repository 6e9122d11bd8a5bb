// Channel slots (payments/slots.ts, leased-slots.ts, slot-handoff.ts, slot-sweep.ts;
// protocol/state.md#slots-and-leases). On a shared store a replica keeps a channel's slot between calls and
// hands it to another replica that asks, so a paid call on a held channel costs one transaction. Replicas are slot sets sharing one store, each on its own lease,
// as etcd replicas are; faults come from faultInjectingStoreMock around a real memory store, because etcd
// cannot be made to lose one chosen answer on cue.
import { describe, expect, test } from "bun:test";
import { Code } from "../../src/core/errors.ts";
import { replicaSlots } from "../../src/payments/leased-slots.ts";
import { type ChannelSlots, localSlots, type Slot } from "../../src/payments/slots.ts";
import type { Lease, Store } from "../../src/store/contract.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { keys as keysOf } from "../../src/store/records.ts";
import { faultInjectingStoreMock } from "./fault-store.ts";
import { refusal } from "./refusal.ts";

const KEYS = keysOf("/test");
const KEY = KEYS.slot(7n);
const KEY8 = KEYS.slot(8n);
const TTL = 10;
const WAIT_MS = 200;

interface Replica {
  slots: ChannelSlots & { close(): void };
  lease: Lease;
  leftovers: string[];
  newLeases: bigint[];
  /** Resolves with the next leftover this replica adopts or deletes. */
  nextLeftover(): Promise<string>;
}

async function replica(store: Store, owner: string, idleReleaseMs = 60_000): Promise<Replica> {
  const lease = await store.grantLease(TTL);
  const leftovers: string[] = [];
  const newLeases: bigint[] = [];
  const waiting: ((key: string) => void)[] = [];
  const slots = replicaSlots(store, lease, owner, KEYS, {
    handoffWaitMs: WAIT_MS,
    idleReleaseMs,
    onLeftover: (key) => {
      leftovers.push(key);
      for (const w of waiting.splice(0)) w(key);
    },
    onNewLease: (id) => newLeases.push(id),
  });
  return { slots, lease, leftovers, newLeases, nextLeftover: () => new Promise((r) => waiting.push(r)) };
}

function setup() {
  const inner = memoryStore();
  return { inner, ...faultInjectingStoreMock(inner) };
}

/** The commit that ends a call, carrying the slot's guard (as the payment gate builds it). */
async function commitWith(store: Store, slot: Slot): Promise<boolean> {
  const g = slot.guard();
  return store.commit({ compare: g.compare, then: [{ op: "put", key: KEYS.channel(7n), value: "x" }, ...g.ops] });
}

async function until(what: string, cond: () => boolean | Promise<boolean>) {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await Bun.sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("local slots (one process owns the store)", () => {
  test("one call per key at a time, and a release frees it", async () => {
    const slots = localSlots();
    const first = await slots.acquire(KEY);
    expect(first).toBeDefined();
    expect(await slots.acquire(KEY)).toBeUndefined();
    expect(await slots.acquire(KEY8)).toBeDefined();
    await first!.release("committed");
    expect(await slots.acquire(KEY)).toBeDefined();
  });
});

describe("replica slots (a replica group shares the store)", () => {
  test("two acquirers on one key: exactly one wins, on this replica and across replicas", async () => {
    const { store, inner } = setup();
    const a = await replica(store, "a");
    const b = await replica(store, "b");
    const results = await Promise.all([a.slots.acquire(KEY), a.slots.acquire(KEY), b.slots.acquire(KEY)]);
    expect(results.filter((s) => s !== undefined)).toHaveLength(1);
    const holder = await inner.get(KEY);
    expect(holder?.lease === a.lease.id || holder?.lease === b.lease.id).toBe(true);
    expect(a.leftovers).toEqual([]);
    expect(b.leftovers).toEqual([]);
  });

  test("a replica keeps the slot after its call: the next call on it needs no store request before its commit", async () => {
    const { store, inner, faults } = setup();
    const a = await replica(store, "a");
    const first = await a.slots.acquire(KEY);
    expect(await commitWith(store, first!)).toBe(true);
    await first!.release("committed");
    expect((await inner.get(KEY))?.lease).toBe(a.lease.id);
    const commits = faults.commits.length;
    const reads = faults.reads;
    const second = await a.slots.acquire(KEY);
    expect(second?.epoch).toBe(first!.epoch);
    expect(faults.commits.length).toBe(commits);
    expect(faults.reads).toBe(reads);
    expect(await commitWith(store, second!)).toBe(true);
    await second!.release("committed");
  });

  test("an idle slot is handed to another replica that asks for it", async () => {
    const { store, inner } = setup();
    const a = await replica(store, "a");
    const b = await replica(store, "b");
    const held = await a.slots.acquire(KEY);
    await held!.release("committed");
    const taken = await b.slots.acquire(KEY);
    expect(taken).toBeDefined();
    expect((await inner.get(KEY))?.lease).toBe(b.lease.id);
    // The request key is gone with the handover.
    expect(await inner.get(`${KEYS.handoffs}${KEY.slice(KEYS.slots.length)}`)).toBeUndefined();
    // And a comes back the same way, with a new epoch: what it cached before is stale now.
    await taken!.release("unchanged");
    const again = await a.slots.acquire(KEY);
    expect(again).toBeDefined();
    expect(again!.epoch).not.toBe(held!.epoch);
  });

  test("a request arriving during a call is honoured by the commit that ends it", async () => {
    const { store, inner } = setup();
    const a = await replica(store, "a");
    const b = await replica(store, "b");
    const inCall = await a.slots.acquire(KEY);
    const waiting = b.slots.acquire(KEY);
    await until("a to see b's request", () => inCall!.guard().ops.length > 0);
    expect(inCall!.guard().ops).toContainEqual({ op: "delete", key: KEY });
    expect(await commitWith(store, inCall!)).toBe(true);
    await inCall!.release("committed");
    const taken = await waiting;
    expect(taken).toBeDefined();
    expect((await inner.get(KEY))?.lease).toBe(b.lease.id);
  });

  test("a call longer than the wait: the other replica hears 'busy'", async () => {
    const { store } = setup();
    const a = await replica(store, "a");
    const b = await replica(store, "b");
    const inCall = await a.slots.acquire(KEY);
    expect(await b.slots.acquire(KEY)).toBeUndefined();
    await inCall!.release("unchanged");
  });

  test("a slot lost while its call ran fails that call's commit and is not taken back", async () => {
    const { store, inner, faults } = setup();
    const a = await replica(store, "a");
    const b = await replica(store, "b");
    const inCall = await a.slots.acquire(KEY);
    await faults.loseLeases();
    const b2 = await replica(store, "b2");
    const other = await b2.slots.acquire(KEY);
    expect(other).toBeDefined();
    expect(await commitWith(store, inCall!)).toBe(false);
    await inCall!.release("uncertain");
    expect((await inner.get(KEY))?.lease).toBe(b2.lease.id);
    expect(b.leftovers).toEqual([]);
  });

  test("a create whose answer was lost leaves our key; the next acquire on this replica adopts it", async () => {
    const { store, inner, faults } = setup();
    const a = await replica(store, "a");
    const b = await replica(store, "b");
    faults.failCommitsAfter(1);
    const err = await refusal(a.slots.acquire(KEY));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toStartWith("payment state is unavailable (take the channel slot): ");
    expect((await inner.get(KEY))?.lease).toBe(a.lease.id);
    const slot = await a.slots.acquire(KEY);
    expect(slot).toBeDefined();
    expect(a.leftovers).toEqual([KEY]);
    expect((await inner.get(KEY))?.lease).toBe(a.lease.id);
    // It is a real slot: the other replica cannot take it while the call runs.
    expect(await b.slots.acquire(KEY)).toBeUndefined();
    await slot!.release("unchanged");
    expect(await b.slots.acquire(KEY)).toBeDefined();
  });

  test("after an uncertain commit the slot is given up; a give-up the store refused is swept", async () => {
    const { store, inner, faults } = setup();
    const a = await replica(store, "a");
    const b = await replica(store, "b");
    const slot = await a.slots.acquire(KEY);
    faults.failCommitsBefore(1);
    const swept = a.nextLeftover();
    await slot!.release("uncertain");
    expect((await inner.get(KEY))?.lease).toBe(a.lease.id);
    expect(await swept).toBe(KEY);
    expect(await inner.get(KEY)).toBeUndefined();
    expect(await b.slots.acquire(KEY)).toBeDefined();
  });

  test("a slot idle for idleReleaseMs is given up on its own", async () => {
    const { store, inner } = setup();
    const a = await replica(store, "a", 50);
    const slot = await a.slots.acquire(KEY);
    await slot!.release("committed");
    await until("the idle slot to be given up", async () => (await inner.get(KEY)) === undefined);
    a.slots.close();
  });

  test("a replica killed and restarted (same replica id, new lease) takes its slots back at once; others still wait", async () => {
    const { store, inner } = setup();
    const before = replicaSlots(store, await store.grantLease(TTL), "r1 pid-1", KEYS, {
      replicaId: "r1",
      handoffWaitMs: WAIT_MS,
    });
    const held = await before.acquire(KEY);
    await held!.release("committed");
    // The process dies: nothing answers for its slots, and its lease lives on until the TTL.
    before.close();
    const other = replicaSlots(store, await store.grantLease(TTL), "r2 pid-2", KEYS, {
      replicaId: "r2",
      handoffWaitMs: WAIT_MS,
    });
    expect(await other.acquire(KEY)).toBeUndefined();
    const lease = await store.grantLease(TTL);
    const after = replicaSlots(store, lease, "r1 pid-3", KEYS, { replicaId: "r1", handoffWaitMs: WAIT_MS });
    const back = await after.acquire(KEY);
    expect(back).toBeDefined();
    expect(await inner.get(KEY)).toMatchObject({ value: "r1 pid-3", lease: lease.id });
  });

  test("a lost lease: a new lease is granted once and new slots go on it", async () => {
    const { store, inner, faults } = setup();
    const a = await replica(store, "a");
    const before = await a.slots.acquire(KEY);
    await before!.release("committed");
    await faults.loseLeases();
    expect(a.lease.lost).toBe(true);
    // As in etcd, the keys of a lost lease are gone: the slot is free for the group.
    expect(await inner.get(KEY)).toBeUndefined();
    const granted = faults.leases.length;
    const [s7, s8] = await Promise.all([a.slots.acquire(KEY), a.slots.acquire(KEY8)]);
    expect(s7).toBeDefined();
    expect(s8).toBeDefined();
    expect(s7!.epoch).not.toBe(before!.epoch);
    expect(faults.leases.length).toBe(granted + 1);
    const fresh = faults.leases.at(-1)!;
    expect(fresh.lost).toBe(false);
    expect(a.newLeases).toEqual([fresh.id]);
    expect((await inner.get(KEY))?.lease).toBe(fresh.id);
    expect((await inner.get(KEY8))?.lease).toBe(fresh.id);
  });

  test("store unavailable during acquire is UNAVAILABLE, and the key is not left held on this replica", async () => {
    const { store, faults } = setup();
    const a = await replica(store, "a");
    faults.failCommitsBefore(1);
    const err = await refusal(a.slots.acquire(KEY));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toBe(
      "payment state is unavailable (take the channel slot): injected fault: commit failed before reaching the store, the outcome is unknown",
    );
    expect(await a.slots.acquire(KEY)).toBeDefined();
  });

  test("a store unavailable while renewing a lost lease is UNAVAILABLE too", async () => {
    const { store, faults } = setup();
    const a = await replica(store, "a");
    await faults.loseLeases();
    faults.failLeaseGrants(1);
    const grantErr = await refusal(a.slots.acquire(KEY));
    expect(grantErr.code).toBe(Code.UNAVAILABLE);
    expect(grantErr.message).toStartWith(
      "payment state is unavailable (take the channel slot): injected fault: lease grant failed",
    );
    expect(await a.slots.acquire(KEY)).toBeDefined();
  });
});
