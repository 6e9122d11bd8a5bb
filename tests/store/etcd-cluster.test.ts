/**
 * The etcd store on a real 3-member cluster: compare-and-swap across members, fail-over when one member
 * dies, a bounded StoreUnavailableError when quorum is lost, and no committed data lost after recovery.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Store } from "../../src/store/contract.ts";
import { StoreUnavailableError } from "../../src/store/contract.ts";
import { etcdStore } from "../../src/store/etcd.ts";
import { type EtcdCluster, isEtcdLeader, startEtcd } from "../kit/etcd.ts";
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
      clients.map((c, i) => c.commit({ compare: [{ key, version: 0n }], then: [{ op: "put", key, value: `create-${i}` }] })),
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

test("commits survive one dead member, fail bounded without quorum, and nothing committed is lost", { timeout: 60_000 }, async () => {
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
  await until(async () => (await second.healthy()) && (await survivor.healthy()), "the other two members to be healthy", { intervalMs: 100 });
  for (let i = 0; i < 10; i++) await write(`safe/one-down-${i}`);
  expect((await store.list("safe/")).length).toBe(committed.size);

  await second.kill();
  const started = Date.now();
  const err = await store.commit({ compare: [], then: [{ op: "put", key: "safe/no-quorum", value: "x" }] }).catch((e: unknown) => e);
  const elapsed = Date.now() - started;
  expect(err).toBeInstanceOf(StoreUnavailableError);
  expect((err as Error).message).toContain(survivor.clientUrl);
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
