/**
 * The store contract, as one suite that every backend must pass (memory, SQLite, etcd).
 * Usage: `storeContractSuite("sqlite", async () => ({ store, cleanup }))`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Store } from "../../src/store/contract.ts";

export interface StoreFixture {
  store: Store;
  /** Opens the same backing data again, as a restarted daemon would (omit for volatile stores). */
  reopen?: () => Promise<Store>;
  cleanup: () => Promise<void>;
}

export function storeContractSuite(name: string, open: () => Promise<StoreFixture>) {
  describe(`store contract: ${name}`, () => {
    let fixture: StoreFixture | undefined;
    const setup = async () => (fixture = await open());
    afterEach(async () => {
      await fixture?.cleanup();
      fixture = undefined;
    });

    test("a missing key reads as undefined and a put creates it with a positive version", async () => {
      const { store } = await setup();
      expect(await store.get("a")).toBeUndefined();
      expect(
        await store.commit({ compare: [{ key: "a", version: 0n }], then: [{ op: "put", key: "a", value: "1" }] }),
      ).toBe(true);
      const e = await store.get("a");
      expect(e?.value).toBe("1");
      expect(e!.version > 0n).toBe(true);
    });

    test("compare-and-swap: only the writer holding the current version wins", async () => {
      const { store } = await setup();
      await store.commit({ compare: [], then: [{ op: "put", key: "k", value: "v0" }] });
      const v = (await store.get("k"))!.version;
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.commit({ compare: [{ key: "k", version: v }], then: [{ op: "put", key: "k", value: `w${i}` }] }),
        ),
      );
      expect(results.filter(Boolean).length).toBe(1);
      const winner = results.indexOf(true);
      expect((await store.get("k"))?.value).toBe(`w${winner}`);
    });

    test("create-if-absent races have exactly one winner", async () => {
      const { store } = await setup();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.commit({
            compare: [{ key: "once", version: 0n }],
            then: [{ op: "put", key: "once", value: String(i) }],
          }),
        ),
      );
      expect(results.filter(Boolean).length).toBe(1);
    });

    test("a transaction is all or nothing across keys", async () => {
      const { store } = await setup();
      await store.commit({ compare: [], then: [{ op: "put", key: "x", value: "1" }] });
      const ok = await store.commit({
        compare: [{ key: "x", version: 999999n }],
        then: [
          { op: "put", key: "x", value: "2" },
          { op: "put", key: "y", value: "2" },
        ],
      });
      expect(ok).toBe(false);
      expect((await store.get("x"))?.value).toBe("1");
      expect(await store.get("y")).toBeUndefined();
      const vx = (await store.get("x"))!.version;
      expect(
        await store.commit({
          compare: [
            { key: "x", version: vx },
            { key: "y", version: 0n },
          ],
          then: [
            { op: "delete", key: "x" },
            { op: "put", key: "y", value: "3" },
          ],
        }),
      ).toBe(true);
      expect(await store.get("x")).toBeUndefined();
      expect((await store.get("y"))?.value).toBe("3");
    });

    test("versions strictly increase on every write", async () => {
      const { store } = await setup();
      const seen: bigint[] = [];
      for (let i = 0; i < 5; i++) {
        await store.commit({ compare: [], then: [{ op: "put", key: "inc", value: String(i) }] });
        seen.push((await store.get("inc"))!.version);
      }
      for (let i = 1; i < seen.length; i++) expect(seen[i]! > seen[i - 1]!).toBe(true);
    });

    test("list returns exactly the keys under a prefix, in key order", async () => {
      const { store } = await setup();
      await store.commit({
        compare: [],
        then: ["p/b", "p/a", "p/c/d", "q/a", "p"].map((key) => ({ op: "put" as const, key, value: key })),
      });
      expect((await store.list("p/")).map((e) => e.key)).toEqual(["p/a", "p/b", "p/c/d"]);
      expect(await store.list("none/")).toEqual([]);
    });

    test("revoking a lease deletes the keys attached to it and nothing else", async () => {
      const { store } = await setup();
      const lease = await store.grantLease(10);
      await store.commit({
        compare: [],
        then: [
          { op: "put", key: "l/leased", value: "1", lease: lease.id },
          { op: "put", key: "l/kept", value: "1" },
        ],
      });
      expect((await store.get("l/leased"))?.lease).toBe(lease.id);
      await lease.revoke();
      expect(await store.get("l/leased")).toBeUndefined();
      expect((await store.get("l/kept"))?.value).toBe("1");
    });

    test("values survive a reopen; leased keys do not outlive their owner", async () => {
      const f = await setup();
      if (!f.reopen) {
        console.log(`skipped for ${name}: the store is volatile by design`);
        return;
      }
      const lease = await f.store.grantLease(1);
      await f.store.commit({
        compare: [],
        then: [
          { op: "put", key: "d/kept", value: "money" },
          { op: "put", key: "d/slot", value: "busy", lease: lease.id },
        ],
      });
      await f.store.close();
      const again = await f.reopen();
      f.store = again;
      // etcd needs the TTL to pass; embedded stores drop leased keys at open.
      const deadline = Date.now() + 10_000;
      while ((await again.get("d/slot")) && Date.now() < deadline) await Bun.sleep(200);
      expect((await again.get("d/kept"))?.value).toBe("money");
      expect(await again.get("d/slot")).toBeUndefined();
    });
  });
}
