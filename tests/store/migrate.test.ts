/** Migrating payment state from the embedded SQLite store into a real etcd. */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Store } from "../../src/store/contract.ts";
import { etcdStore } from "../../src/store/etcd.ts";
import { migrateStore } from "../../src/store/migrate.ts";
import { sqliteStore } from "../../src/store/sqlite.ts";
import { type EtcdCluster, startEtcd } from "../kit/etcd.ts";

let cluster: EtcdCluster;
let dir: string;
let counter = 0;
let opened: Store[] = [];

beforeAll(async () => {
  cluster = await startEtcd();
  dir = mkdtempSync(join(tmpdir(), "snetd-migrate-"));
});
afterEach(async () => {
  await Promise.all(opened.map((s) => s.close()));
  opened = [];
});
afterAll(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A SQLite source and an etcd target; the source has plain, leased and out-of-prefix keys. */
async function fixture() {
  const n = ++counter;
  const from = sqliteStore({ path: join(dir, `source-${n}.sqlite`) });
  const to = await etcdStore({ endpoints: cluster.endpoints, namespace: `migrate-${process.pid}-${n}/` });
  opened.push(from, to);
  const lease = await from.grantLease(30);
  await from.commit({
    compare: [],
    then: [
      { op: "put", key: "s/a", value: "A" },
      { op: "put", key: "s/b", value: "B" },
      { op: "put", key: "s/c", value: "C" },
      { op: "put", key: "s/same", value: "S" },
      { op: "put", key: "s/differs", value: "source" },
      { op: "put", key: "s/slot", value: "busy", lease: lease.id },
      { op: "put", key: "other/x", value: "X" },
    ],
  });
  await to.commit({
    compare: [],
    then: [
      { op: "put", key: "s/same", value: "S" },
      { op: "put", key: "s/differs", value: "target" },
    ],
  });
  return { from, to };
}

const snapshot = async (s: Store) => Object.fromEntries((await s.list("")).map((e) => [e.key, e.value]));

test("copies absent keys, reports conflicts without overwriting, and never copies leased keys", async () => {
  const { from, to } = await fixture();
  const result = await migrateStore(from, to, "s/");
  expect(result).toEqual({ copied: 3, skipped: 2, conflicts: ["s/differs"] });
  expect(await snapshot(to)).toEqual({ "s/a": "A", "s/b": "B", "s/c": "C", "s/same": "S", "s/differs": "target" });
});

test("a dry run reports the same outcome and writes nothing", async () => {
  const { from, to } = await fixture();
  const before = await snapshot(to);
  expect(await migrateStore(from, to, "s/", { dryRun: true })).toEqual({
    copied: 3,
    skipped: 2,
    conflicts: ["s/differs"],
  });
  expect(await snapshot(to)).toEqual(before);
});

test("running it again copies nothing more", async () => {
  const { from, to } = await fixture();
  await migrateStore(from, to, "s/");
  expect(await migrateStore(from, to, "s/")).toEqual({ copied: 0, skipped: 5, conflicts: ["s/differs"] });
});

test("a key written to the target after it was listed is compared, not overwritten", async () => {
  const { from, to } = await fixture();
  // The target lists as empty, as if every key appeared in it after the migration started.
  const stale: Store = { ...to, list: async () => [], get: (k) => to.get(k), commit: (t) => to.commit(t) };
  expect(await migrateStore(from, stale, "s/")).toEqual({ copied: 3, skipped: 2, conflicts: ["s/differs"] });
  expect((await to.get("s/differs"))?.value).toBe("target");
});
