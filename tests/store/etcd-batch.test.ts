/**
 * Group commit on etcd (src/store/etcd-batch.ts) against one real etcd member: concurrent commits travel
 * as nested Txns of a few etcd requests, and each still applies or fails exactly as it would alone —
 * its own compares, its own refusal, one winner among commits on one key. Requests are counted by etcd
 * itself (grpc_server_handled_total).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { etcdRequests } from "../../bench/store-counters.ts";
import { type Store, StoreUnavailableError } from "../../src/store/contract.ts";
import { etcdStore } from "../../src/store/etcd.ts";
import { type EtcdCluster, startEtcd } from "../kit/etcd.ts";

let cluster: EtcdCluster;
let store: Store;
let counter = 0;
const namespace = () => `batch-${process.pid}-${++counter}/`;

beforeAll(async () => {
  cluster = await startEtcd();
});
afterAll(async () => {
  await store?.close();
  await cluster?.stop();
});

/** Txn requests etcd handled while `work` ran. */
async function txnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; txns: number }> {
  const endpoint = cluster.endpoints[0] as string;
  const before = (await etcdRequests(endpoint)).Txn ?? 0;
  const result = await work();
  return { result, txns: ((await etcdRequests(endpoint)).Txn ?? 0) - before };
}

describe("etcd group commit", () => {
  test("concurrent commits on different keys share Txns, and each applies on its own compares", async () => {
    store = await etcdStore({ endpoints: cluster.endpoints, namespace: namespace() });
    await store.commit({ compare: [], then: [{ op: "put", key: "/seed", value: "0" }] });
    const { result, txns } = await txnsDuring(() =>
      Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store.transact({
            // Every fourth commit expects a version its key does not have: only it fails.
            compare: [{ key: `/k/${i}`, version: i % 4 === 3 ? 12345n : 0n }],
            then: [{ op: "put", key: `/k/${i}`, value: `v${i}` }],
          }),
        ),
      ),
    );
    expect(result.map((r) => r.succeeded)).toEqual(Array.from({ length: 40 }, (_, i) => i % 4 !== 3));
    expect(txns).toBeLessThan(40);
    const stored = await store.list("/k/");
    expect(stored.map((e) => e.value).sort()).toEqual(
      Array.from({ length: 40 }, (_, i) => i)
        .filter((i) => i % 4 !== 3)
        .map((i) => `v${i}`)
        .sort(),
    );
    // Written together, at the revision each commit reported.
    for (const e of stored) expect(result[Number(e.key.slice(3))]?.revision).toBe(e.version);
  });

  test("of concurrent creates of one key exactly one wins, as alone", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.commit({ compare: [{ key: "/one", version: 0n }], then: [{ op: "put", key: "/one", value: `w${i}` }] }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await store.get("/one"))?.value).toBe(`w${results.indexOf(true)}`);
  });

  test("a commit etcd refuses (its lease is gone) fails alone; the others of its batch apply", async () => {
    // The first commit leaves at once; the next ones queue behind it and form one batch.
    const commits = Array.from({ length: 10 }, (_, i) =>
      store.transact({
        compare: [],
        then: [{ op: "put", key: `/lease/${i}`, value: `v${i}`, ...(i === 5 ? { lease: 987654321n } : {}) }],
      }),
    );
    const settled = await Promise.allSettled(commits);
    expect(settled.map((s) => s.status)).toEqual(settled.map((_, i) => (i === 5 ? "rejected" : "fulfilled")));
    const err = (settled[5] as PromiseRejectedResult).reason as StoreUnavailableError;
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.outcome).toBe("not-applied");
    expect(err.message).toContain("requested lease not found");
    expect((await store.list("/lease/")).map((e) => e.key)).toEqual([
      "/lease/0",
      "/lease/1",
      "/lease/2",
      "/lease/3",
      "/lease/4",
      "/lease/6",
      "/lease/7",
      "/lease/8",
      "/lease/9",
    ]);
  });
});
