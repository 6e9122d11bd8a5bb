// The channel slot on a shared store (payments/slots.ts, protocol/payments.md#escrow-invariants) when the store
// fails at the worst moment. Replicas are `leasedSlots` instances sharing one store, each on its own
// lease, as etcd replicas are; the faults come from faultInjectingStoreMock around a real memory store,
// because etcd cannot be made to lose one chosen answer on cue.
import { describe, expect, test } from "bun:test";
import { Code, SnetError } from "../../src/core/errors.ts";
import { type ChannelSlots, leasedSlots, localSlots } from "../../src/payments/slots.ts";
import type { Lease, Store } from "../../src/store/contract.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { faultInjectingStoreMock } from "./fault-store.ts";
import { refusal } from "./refusal.ts";

const KEY = "/test/slot/7";
const TTL = 10;

interface Replica {
  slots: ChannelSlots;
  lease: Lease;
  leftovers: string[];
  newLeases: bigint[];
  /** Resolves with the next leftover this replica deletes. */
  nextLeftover(): Promise<string>;
}

async function replica(store: Store, owner: string): Promise<Replica> {
  const lease = await store.grantLease(TTL);
  const leftovers: string[] = [];
  const newLeases: bigint[] = [];
  const waiting: ((key: string) => void)[] = [];
  const slots = leasedSlots(store, lease, owner, {
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

describe("local slots (one process owns the store)", () => {
  test("one call per key at a time, and a release frees it", async () => {
    const slots = localSlots();
    const first = await slots.acquire(KEY);
    expect(first).toBeDefined();
    expect(await slots.acquire(KEY)).toBeUndefined();
    expect(await slots.acquire("/test/slot/8")).toBeDefined();
    await first!.release();
    expect(await slots.acquire(KEY)).toBeDefined();
  });
});

describe("leased slots (a replica group shares the store)", () => {
  test("two acquirers on one key: exactly one wins, on this replica and across replicas", async () => {
    const { store, inner } = setup();
    const a = await replica(store, "a");
    const b = await replica(store, "b");
    const results = await Promise.all([a.slots.acquire(KEY), a.slots.acquire(KEY), b.slots.acquire(KEY)]);
    expect(results.filter((s) => s !== undefined)).toHaveLength(1);
    const holder = await inner.get(KEY);
    expect(holder?.lease === a.lease.id || holder?.lease === b.lease.id).toBe(true);
    // Another replica's slot is never taken for a leftover.
    expect(a.leftovers).toEqual([]);
    expect(b.leftovers).toEqual([]);
  });

  test("a release frees the slot for every replica", async () => {
    const { store, inner } = setup();
    const a = await replica(store, "a");
    const b = await replica(store, "b");
    const slot = await a.slots.acquire(KEY);
    expect(slot?.releaseOps).toEqual([{ op: "delete", key: KEY }]);
    expect(await b.slots.acquire(KEY)).toBeUndefined();
    await slot!.release();
    expect(await inner.get(KEY)).toBeUndefined();
    const taken = await b.slots.acquire(KEY);
    expect(taken).toBeDefined();
    expect((await inner.get(KEY))?.lease).toBe(b.lease.id);
  });

  test("released by a commit carrying releaseOps: the store is not told again", async () => {
    const { store, faults } = setup();
    const a = await replica(store, "a");
    const slot = await a.slots.acquire(KEY);
    expect(await store.commit({ compare: [], then: [{ op: "put", key: "/test/channel/7", value: "x" }, ...slot!.releaseOps] })).toBe(true);
    const before = faults.commits.length;
    await slot!.release({ committed: true });
    expect(faults.commits.length).toBe(before);
    expect(await a.slots.acquire(KEY)).toBeDefined();
  });

  test("a create whose answer was lost leaves our key; the next acquire on this replica clears it and wins", async () => {
    const { store, inner, faults } = setup();
    const a = await replica(store, "a");
    const b = await replica(store, "b");
    faults.failCommitsAfter(1);
    const err = await refusal(a.slots.acquire(KEY));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toStartWith("payment state is unavailable (take the channel slot): ");
    // The create did land: the key is on our lease though no call of ours holds it.
    expect((await inner.get(KEY))?.lease).toBe(a.lease.id);
    // Until it is cleared it blocks the channel for the other replicas.
    expect(await b.slots.acquire(KEY)).toBeUndefined();
    const slot = await a.slots.acquire(KEY);
    expect(slot).toBeDefined();
    expect(a.leftovers).toEqual([KEY]);
    expect((await inner.get(KEY))?.lease).toBe(a.lease.id);
    // And it is a real slot: the other replica still cannot take it while the call runs.
    expect(await b.slots.acquire(KEY)).toBeUndefined();
    await slot!.release();
    expect(await b.slots.acquire(KEY)).toBeDefined();
  });

  test("a release the store refused is swept: the leftover is deleted and other replicas can take the slot", async () => {
    const { store, inner, faults } = setup();
    const a = await replica(store, "a");
    const b = await replica(store, "b");
    const slot = await a.slots.acquire(KEY);
    faults.failCommitsBefore(1);
    const swept = a.nextLeftover();
    // Never fails the call: the release resolves although the store failed.
    await slot!.release();
    expect((await inner.get(KEY))?.lease).toBe(a.lease.id);
    expect(await b.slots.acquire(KEY)).toBeUndefined();
    expect(await swept).toBe(KEY);
    expect(await inner.get(KEY)).toBeUndefined();
    expect(await b.slots.acquire(KEY)).toBeDefined();
  });

  test("a release whose read failed is swept too", async () => {
    const { store, inner, faults } = setup();
    const a = await replica(store, "a");
    const slot = await a.slots.acquire(KEY);
    faults.failReads(1);
    const swept = a.nextLeftover();
    await slot!.release();
    expect(await inner.get(KEY)).toBeDefined();
    expect(await swept).toBe(KEY);
    expect(await inner.get(KEY)).toBeUndefined();
  });

  test("the sweep never deletes a slot a call of ours holds again", async () => {
    const { store, inner, faults } = setup();
    const a = await replica(store, "a");
    // An acquire whose create answer was lost marks the key suspect for the sweep.
    faults.failCommitsAfter(1);
    await refusal(a.slots.acquire(KEY));
    // The next call clears the leftover and holds the slot; then a second key gives the sweep work
    // whose end we can wait for, after it has looked at the held one.
    const held = await a.slots.acquire(KEY);
    expect(held).toBeDefined();
    const other = "/test/slot/8";
    const slot8 = await a.slots.acquire(other);
    faults.failCommitsBefore(1);
    const swept = a.nextLeftover();
    await slot8!.release();
    expect(await swept).toBe(other);
    expect((await inner.get(KEY))?.lease).toBe(a.lease.id);
    expect(a.leftovers).toEqual([KEY, other]);
  });

  test("a lost lease: a new lease is granted once and new slots go on it", async () => {
    const { store, inner, faults } = setup();
    const a = await replica(store, "a");
    const b = await replica(store, "b");
    const before = await a.slots.acquire(KEY);
    expect(before).toBeDefined();
    await faults.loseLeases();
    expect(a.lease.lost).toBe(true);
    // As in etcd, the keys of a lost lease are gone: the slot is free for the group.
    expect(await inner.get(KEY)).toBeUndefined();
    await before!.release();
    const granted = faults.leases.length;
    const [s7, s8] = await Promise.all([a.slots.acquire(KEY), a.slots.acquire("/test/slot/8")]);
    expect(s7).toBeDefined();
    expect(s8).toBeDefined();
    expect(faults.leases.length).toBe(granted + 1);
    const fresh = faults.leases.at(-1)!;
    expect(fresh.lost).toBe(false);
    expect(a.newLeases).toEqual([fresh.id]);
    expect((await inner.get(KEY))?.lease).toBe(fresh.id);
    expect((await inner.get("/test/slot/8"))?.lease).toBe(fresh.id);
    // b lost its lease too; its slots still collide with a's.
    expect(await b.slots.acquire(KEY)).toBeUndefined();
    // The slot on the new lease is ours to release.
    await s7!.release();
    expect(await inner.get(KEY)).toBeUndefined();
  });

  test("store unavailable during acquire is UNAVAILABLE, and the key is not left held on this replica", async () => {
    const { store, faults } = setup();
    const a = await replica(store, "a");
    faults.failCommitsBefore(1);
    const err = await refusal(a.slots.acquire(KEY));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toBe("payment state is unavailable (take the channel slot): injected fault: commit failed before reaching the store, the outcome is unknown");
    expect(await a.slots.acquire(KEY)).toBeDefined();
  });

  test("a store unavailable while clearing a leftover, or while renewing a lost lease, is UNAVAILABLE too", async () => {
    const { store, faults } = setup();
    const a = await replica(store, "a");
    faults.failCommitsAfter(1);
    await refusal(a.slots.acquire(KEY));
    faults.failReads(1);
    const readErr = await refusal(a.slots.acquire(KEY));
    expect(readErr.code).toBe(Code.UNAVAILABLE);
    await faults.loseLeases();
    faults.failLeaseGrants(1);
    const grantErr = await refusal(a.slots.acquire(KEY));
    expect(grantErr.code).toBe(Code.UNAVAILABLE);
    expect(grantErr.message).toStartWith("payment state is unavailable (take the channel slot): injected fault: lease grant failed");
    expect(await a.slots.acquire(KEY)).toBeDefined();
  });
});
