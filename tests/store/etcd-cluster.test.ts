/**
 * The etcd store on a real 3-member cluster: compare-and-swap across members, fail-over when one member
 * dies, a bounded StoreUnavailableError when quorum is lost, and no committed data lost after recovery.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { replicaSlots } from "../../src/payments/leased-slots.ts";
import type { Store, WatchEvent } from "../../src/store/contract.ts";
import { StoreUnavailableError } from "../../src/store/contract.ts";
import { etcdStore } from "../../src/store/etcd.ts";
import { keys as keysOf } from "../../src/store/records.ts";
import { type EtcdCluster, etcdGateway, isEtcdLeader, startEtcd } from "../kit/etcd.ts";
import { until } from "../kit/wait.ts";

let cluster: EtcdCluster;

/** Index of the member that currently leads the cluster. */
async function findLeader(): Promise<number> {
  const leads = await Promise.all(cluster.endpoints.map((e) => isEtcdLeader(e)));
  const index = leads.indexOf(true);
  if (index < 0) throw new Error("no member of the test cluster says it is the leader");
  return index;
}

const stores: Store[] = [];
const namespace = `cluster-${process.pid}/`;
const open = async (endpoints: string[]) => {
  const s = await etcdStore({ endpoints, namespace, requestTimeoutMs: 2000 });
  stores.push(s);
  return s;
};

beforeAll(async () => {
  cluster = await startEtcd({ members: 3 });
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await cluster?.stop();
});

test("concurrent compare-and-swap through three members has exactly one winner per round", async () => {
  const clients = await Promise.all(cluster.endpoints.map((e) => open([e])));
  for (let round = 0; round < 15; round++) {
    const key = `race/${round}`;
    const created = await Promise.all(
      clients.map((c, i) =>
        c.commit({ compare: [{ key, version: 0n }], then: [{ op: "put", key, value: `create-${i}` }] }),
      ),
    );
    expect(created.filter(Boolean).length).toBe(1);
    const version = (await clients[round % 3]!.get(key))!.version;
    const swapped = await Promise.all(
      clients.map((c, i) => c.commit({ compare: [{ key, version }], then: [{ op: "put", key, value: `swap-${i}` }] })),
    );
    expect(swapped.filter(Boolean).length).toBe(1);
    const winner = swapped.indexOf(true);
    // Every member answers with the winner's value: reads are linearizable.
    for (const c of clients) expect((await c.get(key))?.value).toBe(`swap-${winner}`);
  }
});

test("commits survive one dead member, fail bounded without quorum, and nothing committed is lost", {
  timeout: 60_000,
}, async () => {
  const store = await open(cluster.endpoints);
  const committed = new Map<string, string>();
  const write = async (key: string) => {
    const ok = await store.commit({ compare: [{ key, version: 0n }], then: [{ op: "put", key, value: `v-${key}` }] });
    expect(ok).toBe(true);
    committed.set(key, `v-${key}`);
  };
  for (let i = 0; i < 5; i++) await write(`safe/before-${i}`);

  // Kill the leader, the harder case: commits fail (bounded, StoreUnavailableError) until the others elect
  // a new one, then must all succeed through the surviving members.
  const leaderIndex = await findLeader();
  const first = cluster.members[leaderIndex]!;
  const second = cluster.members[(leaderIndex + 1) % 3]!;
  const survivor = cluster.members[(leaderIndex + 2) % 3]!;
  await first.kill();
  await until(
    async () => (await second.healthy()) && (await survivor.healthy()),
    "the other two members to be healthy",
    { intervalMs: 100 },
  );
  for (let i = 0; i < 10; i++) await write(`safe/one-down-${i}`);
  expect((await store.list("safe/")).length).toBe(committed.size);

  await second.kill();
  const started = Date.now();
  const txnsBefore = await survivor.grpcStarted("Txn");
  const err = await store
    .commit({ compare: [], then: [{ op: "put", key: "safe/no-quorum", value: "x" }] })
    .catch((e: unknown) => e);
  const elapsed = Date.now() - started;
  expect(err).toBeInstanceOf(StoreUnavailableError);
  expect((err as Error).message).toContain(survivor.clientUrl);
  // The survivor got the commit and could not answer it: its outcome is unknown, and it was not sent again.
  expect((err as StoreUnavailableError).outcome).toBe("unknown");
  expect((await survivor.grpcStarted("Txn")) - txnsBefore).toBe(1);
  expect(elapsed).toBeLessThan(15_000);
  expect(await store.get("safe/before-0").catch((e: unknown) => e)).toBeInstanceOf(StoreUnavailableError);

  await first.restart();
  await second.restart();
  // The client may have parked the members it saw fail for a few seconds; retry until they are back.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      // Unconditional, so an earlier attempt that timed out but was applied cannot make this one lose.
      expect(await store.commit({ compare: [], then: [{ op: "put", key: "safe/after", value: "v" }] })).toBe(true);
      break;
    } catch (e) {
      if (!(e instanceof StoreUnavailableError) || Date.now() > deadline) throw e;
      await Bun.sleep(250);
    }
  }
  const listed = new Map((await store.list("safe/")).map((e) => [e.key, e.value]));
  for (const [key, value] of committed) expect(listed.get(key)).toBe(value);
});

/** Two members that are not the leader, so stopping either leaves a quorum and no election. */
async function followers(): Promise<[number, number]> {
  const leaderIndex = await findLeader();
  return [(leaderIndex + 1) % 3, (leaderIndex + 2) % 3];
}

const brief = (e: WatchEvent) =>
  e.type === "put" ? `put ${e.entry.key}=${e.entry.value}` : e.type === "delete" ? `delete ${e.key}` : "compacted";

test("a request to a dead endpoint goes to the next one, a commit included, and reaches etcd once", async () => {
  await until(
    async () => (await Promise.all(cluster.members.map((m) => m.healthy()))).every(Boolean),
    "all three members to be healthy",
    { intervalMs: 100 },
  );
  const [dead] = await followers();
  const others = cluster.members.filter((_, i) => i !== dead);
  await cluster.members[dead]!.kill();
  try {
    // The dead member is listed first: every request starts there and must move on.
    const store = await open([cluster.endpoints[dead]!, ...others.map((m) => m.clientUrl)]);
    const before = (await Promise.all(others.map((m) => m.grpcStarted("Txn")))).reduce((a, b) => a + b, 0);
    expect(
      await store.commit({
        compare: [{ key: "failover/k", version: 0n }],
        then: [{ op: "put", key: "failover/k", value: "v" }],
      }),
    ).toBe(true);
    const after = (await Promise.all(others.map((m) => m.grpcStarted("Txn")))).reduce((a, b) => a + b, 0);
    expect(after - before).toBe(1);
    expect((await store.get("failover/k"))?.value).toBe("v");
  } finally {
    await cluster.members[dead]!.restart();
  }
});

test("a watch whose member was down delivers, in order, what changed meanwhile", async () => {
  const [a, b] = await followers();
  const watching = await open([cluster.endpoints[a]!]);
  const writer = await open([cluster.endpoints[b]!]);
  const heard: string[] = [];
  await watching.watch!("resume/", (e) => heard.push(brief(e)));
  await writer.commit({ compare: [], then: [{ op: "put", key: "resume/1", value: "a" }] });
  await until(() => heard.length === 1, "the first event");
  await cluster.members[a]!.kill();
  await writer.commit({ compare: [], then: [{ op: "put", key: "resume/2", value: "b" }] });
  await writer.commit({ compare: [], then: [{ op: "delete", key: "resume/1" }] });
  await cluster.members[a]!.restart();
  await writer.commit({ compare: [], then: [{ op: "put", key: "resume/3", value: "c" }] });
  await until(() => heard.length >= 4, "the events of the outage and after", { timeoutMs: 15_000 });
  expect(heard).toEqual(["put resume/1=a", "put resume/2=b", "delete resume/1", "put resume/3=c"]);
});

test("a watch that cannot resume because etcd compacted the history says so, then goes on", async () => {
  const [a, b] = await followers();
  const watching = await open([cluster.endpoints[a]!]);
  const writer = await open([cluster.endpoints[b]!]);
  const heard: WatchEvent[] = [];
  await watching.watch!("compact/", (e) => heard.push(e));
  await writer.commit({ compare: [], then: [{ op: "put", key: "compact/1", value: "a" }] });
  await until(() => heard.length === 1, "the first event");
  await cluster.members[a]!.kill();
  await writer.commit({ compare: [], then: [{ op: "put", key: "compact/2", value: "b" }] });
  await writer.commit({ compare: [], then: [{ op: "put", key: "compact/3", value: "c" }] });
  // History before compact/3's revision is gone, so the watch cannot resume at compact/2.
  const revision = (await writer.get("compact/3"))!.version;
  await etcdGateway(cluster.endpoints[b]!, "/v3/kv/compaction", { revision: revision.toString(), physical: true });
  await cluster.members[a]!.restart();
  await writer.commit({ compare: [], then: [{ op: "put", key: "compact/4", value: "d" }] });
  await until(
    () => heard.some((e) => e.type === "put" && e.entry.key === "compact/4"),
    "the event after the compaction",
    { timeoutMs: 15_000 },
  );
  // Events go on from the oldest revision left, the compaction's: compact/2 is missed, and said to be.
  expect(heard.map(brief)).toEqual(["put compact/1=a", "compacted", "put compact/3=c", "put compact/4=d"]);
  expect(heard[1]).toEqual({ type: "compacted", revision });
});

test("a replica whose request watch lost compacted history reads the standing requests and hands the channel over", {
  timeout: 60_000,
}, async () => {
  const [a, b] = await followers();
  const keys = keysOf("/handoff-compacted");
  const holderStore = await open([cluster.endpoints[a]!]);
  const askerStore = await open([cluster.endpoints[b]!]);
  const holder = replicaSlots(holderStore, await holderStore.grantLease(30), "holder", keys, { handoffWaitMs: 100 });
  const slot = keys.slot(7n);
  // The holder serves one call and keeps the slot; its watch of requests is open from then on.
  await (await holder.acquire(slot))!.release("committed");
  await cluster.members[a]!.kill();
  // Asked while the holder's member is down, and that history compacted away before it comes back.
  const request = `${keys.handoffs}${slot.slice(keys.slots.length)}`;
  await askerStore.commit({ compare: [], then: [{ op: "put", key: request, value: "asker" }] });
  await askerStore.commit({ compare: [], then: [{ op: "put", key: "handoff-compacted/filler", value: "x" }] });
  const revision = (await askerStore.get("handoff-compacted/filler"))!.version;
  await etcdGateway(cluster.endpoints[b]!, "/v3/kv/compaction", { revision: revision.toString(), physical: true });
  await cluster.members[a]!.restart();
  // The idle holder gives the slot up: the asker can take the channel.
  await until(async () => (await askerStore.get(slot)) === undefined, "the holder to give the slot up", {
    timeoutMs: 20_000,
  });
  holder.close();
});

test("keep-alive pings notice a member that stopped answering, and the watch moves to the next member", {
  timeout: 60_000,
}, async () => {
  const [a, b] = await followers();
  // Pings every 6 s: etcd tolerates no more than one per 5 s.
  const watching = await etcdStore({
    endpoints: [cluster.endpoints[a]!, cluster.endpoints[b]!],
    namespace,
    keepalive: { intervalMs: 6_000, timeoutMs: 1_000 },
  });
  stores.push(watching);
  const writer = await open([cluster.endpoints[b]!]);
  const heard: string[] = [];
  await watching.watch!("hung/", (e) => heard.push(brief(e)));
  cluster.members[a]!.freeze();
  try {
    await writer.commit({ compare: [], then: [{ op: "put", key: "hung/1", value: "a" }] });
    await until(() => heard.length === 1, "the event through the next member", { timeoutMs: 30_000 });
    expect(heard).toEqual(["put hung/1=a"]);
  } finally {
    cluster.members[a]!.thaw();
  }
});
