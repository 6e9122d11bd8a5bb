/**
 * Watches and leases of the etcd store on one real etcd member: events in revision order, deletes when a
 * lease expires, a watch that outlives a restart of the member, leases kept alive past their TTL and
 * reported `lost` once etcd gives them up — and not because of an outage alone.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Store, WatchEvent } from "../../src/store/contract.ts";
import { etcdStore } from "../../src/store/etcd.ts";
import { type EtcdCluster, etcdGateway, startEtcd } from "../kit/etcd.ts";
import { until } from "../kit/wait.ts";

let cluster: EtcdCluster;
let counter = 0;
const stores: Store[] = [];
const open = async (namespace: string, log?: { warn(m: string): void }) => {
  const s = await etcdStore({ endpoints: cluster.endpoints, namespace, requestTimeoutMs: 2000 }, log ? { log } : {});
  stores.push(s);
  return s;
};
const fresh = () => `watch-${process.pid}-${++counter}/`;
/** What a listener heard, as short strings: "put k=v", "delete k". */
const brief = (e: WatchEvent) =>
  e.type === "put"
    ? `put ${e.entry.key}=${e.entry.value}`
    : e.type === "delete"
      ? `delete ${e.key}`
      : `compacted ${e.revision}`;

beforeAll(async () => {
  cluster = await startEtcd();
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await cluster?.stop();
});

test("a watch delivers every put and delete under its prefix, in revision order, and nothing after close", async () => {
  const ns = fresh();
  const writer = await open(ns);
  const watching = await open(ns);
  const heard: WatchEvent[] = [];
  const watcher = await watching.watch!("ch/", (e) => heard.push(e));
  await writer.commit({
    compare: [],
    then: [
      { op: "put", key: "ch/1", value: "a" },
      { op: "put", key: "other", value: "x" },
    ],
  });
  for (let i = 0; i < 20; i++)
    await writer.commit({ compare: [], then: [{ op: "put", key: `ch/${i % 3}`, value: String(i) }] });
  await writer.commit({
    compare: [],
    then: [
      { op: "delete", key: "ch/1" },
      { op: "put", key: "ch/9", value: "last" },
    ],
  });
  await until(() => heard.length >= 23, "23 events");
  expect(heard.map(brief)).toEqual([
    "put ch/1=a",
    ...Array.from({ length: 20 }, (_, i) => `put ch/${i % 3}=${i}`),
    "delete ch/1",
    "put ch/9=last",
  ]);
  const versions = heard.flatMap((e) => (e.type === "put" ? [e.entry.version] : []));
  for (let i = 1; i < versions.length; i++) expect(versions[i]! > versions[i - 1]!).toBe(true);
  // The versions are the store's: what `get` returns for the same write.
  expect(versions.at(-1)).toBe((await writer.get("ch/9"))!.version);

  watcher.close();
  await writer.commit({ compare: [], then: [{ op: "put", key: "ch/after-close", value: "x" }] });
  await Bun.sleep(300);
  expect(heard.length).toBe(23);
});

test("a watch hears the deletes of leased keys when their owner dies and the lease expires", async () => {
  const ns = fresh();
  const owner = await open(ns);
  const watching = await open(ns);
  const heard: string[] = [];
  await watching.watch!("slot/", (e) => heard.push(brief(e)));
  const lease = await owner.grantLease(1);
  await owner.commit({ compare: [], then: [{ op: "put", key: "slot/7", value: "busy", lease: lease.id }] });
  // Closing stops renewals without revoking, as a crash would.
  await owner.close();
  await until(() => heard.length >= 2, "the leased key's delete", { timeoutMs: 15_000 });
  expect(heard).toEqual(["put slot/7=busy", "delete slot/7"]);
});

test("a watch goes on after its member restarts, from the last revision it saw", async () => {
  const ns = fresh();
  const store = await open(ns);
  const heard: string[] = [];
  await store.watch!("", (e) => heard.push(brief(e)));
  await store.commit({ compare: [], then: [{ op: "put", key: "before", value: "1" }] });
  await until(() => heard.length >= 1, "the first event");
  await cluster.members[0]!.restart();
  // The store's request may meet the member just before it serves again.
  await until(
    async () =>
      (await store.commit({ compare: [], then: [{ op: "put", key: "after", value: "2" }] }).catch(() => false)) ===
      true,
    "a commit after the restart",
    { intervalMs: 100 },
  );
  await until(() => heard.length >= 2, "the event after the restart", { timeoutMs: 15_000 });
  expect(heard).toEqual(["put before=1", "put after=2"]);
});

test("a lease is renewed past its TTL while the store runs", async () => {
  const store = await open(fresh());
  const lease = await store.grantLease(2);
  await store.commit({ compare: [], then: [{ op: "put", key: "kept", value: "1", lease: lease.id }] });
  // Two and a half TTLs: without renewals etcd would have deleted the key by now.
  await Bun.sleep(5000);
  expect(lease.lost).toBe(false);
  expect((await store.get("kept"))?.value).toBe("1");
  await lease.revoke();
  expect(await store.get("kept")).toBeUndefined();
});

test("a lease revoked behind the store's back turns lost", async () => {
  const warnings: string[] = [];
  const store = await open(fresh(), { warn: (m) => warnings.push(m) });
  const lease = await store.grantLease(2);
  await etcdGateway(cluster.endpoints[0]!, "/v3/lease/revoke", { ID: lease.id.toString() });
  await until(() => lease.lost === true, "the lease to be reported lost");
  expect(warnings.join("\n")).toContain("etcd reports it expired or revoked");
});

test("a lease outlives an etcd outage longer than its TTL: renewals resume and its keys stay (a new leader extends every lease)", async () => {
  const store = await open(fresh());
  const lease = await store.grantLease(2);
  await store.commit({ compare: [], then: [{ op: "put", key: "slot/outage", value: "held", lease: lease.id }] });
  const member = cluster.members[0]!;
  await member.kill();
  try {
    await Bun.sleep(5000);
    expect(lease.lost).toBe(false);
  } finally {
    await member.restart();
  }
  // Longer than the TTL after the restart: only renewals keep the key.
  await Bun.sleep(3000);
  expect(lease.lost).toBe(false);
  expect((await store.get("slot/outage"))?.value).toBe("held");
});
