/**
 * The store contract against one real etcd member, plus what only etcd has: namespaces, paged lists, lease
 * loss, unreachable endpoints. One cluster serves the whole file; each test gets its own key namespace.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Store } from "../../src/store/contract.ts";
import { StoreUnavailableError } from "../../src/store/contract.ts";
import { etcdStore, prefixEnd } from "../../src/store/etcd.ts";
import { type EtcdCluster, etcdBinary, etcdGateway, makeTestPki, startEtcd, type TestPki } from "../kit/etcd.ts";
import { freePort } from "../kit/ports.ts";
import { storeContractSuite } from "./contract-suite.ts";

let cluster: EtcdCluster;
let counter = 0;
const uniqueNamespace = () => `test-${process.pid}-${++counter}/`;

beforeAll(async () => {
  cluster = await startEtcd();
});
afterAll(async () => {
  await cluster?.stop();
});

storeContractSuite("etcd", async () => {
  const namespace = uniqueNamespace();
  const opened: Store[] = [];
  const open = async () => {
    const s = await etcdStore({ endpoints: cluster.endpoints, namespace });
    opened.push(s);
    return s;
  };
  return {
    store: await open(),
    reopen: open,
    cleanup: async () => {
      await Promise.all(opened.map((s) => s.close()));
    },
  };
});

describe("etcd store", () => {
  const stores: Store[] = [];
  const open = async (namespace = uniqueNamespace(), log?: { warn(m: string): void }) => {
    const s = await etcdStore({ endpoints: cluster.endpoints, namespace }, log ? { log } : {});
    stores.push(s);
    return s;
  };
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
  });

  test("says it is shared, not exclusive", async () => {
    const s = await open();
    expect(s.kind).toBe("etcd");
    expect(s.exclusive).toBe(false);
  });

  test("namespaces do not see each other's keys", async () => {
    const a = await open();
    const b = await open();
    await a.commit({ compare: [], then: [{ op: "put", key: "k", value: "a" }] });
    expect(await b.get("k")).toBeUndefined();
    expect(await b.list("")).toEqual([]);
    expect((await a.list("")).map((e) => e.key)).toEqual(["k"]);
  });

  test("list pages through more keys than one etcd response holds, in key order", async () => {
    const s = await open();
    const keys = Array.from({ length: 1234 }, (_, i) => `many/${String(i).padStart(5, "0")}`);
    // etcd allows 128 operations per transaction by default.
    for (let i = 0; i < keys.length; i += 100) {
      await s.commit({
        compare: [],
        then: keys.slice(i, i + 100).map((key) => ({ op: "put" as const, key, value: key })),
      });
    }
    const listed = await s.list("many/");
    expect(listed.length).toBe(keys.length);
    expect(listed.map((e) => e.key)).toEqual(keys);
    expect(listed.every((e) => e.value === e.key)).toBe(true);
  });

  test("keys and values are UTF-8 text", async () => {
    const s = await open();
    await s.commit({ compare: [{ key: "ключ/€", version: 0n }], then: [{ op: "put", key: "ключ/€", value: "💸 1" }] });
    expect((await s.get("ключ/€"))?.value).toBe("💸 1");
    expect((await s.list("ключ/")).map((e) => e.key)).toEqual(["ключ/€"]);
  });

  test("a lease revoked behind the store's back is reported through the log", async () => {
    const warnings: string[] = [];
    const s = await open(undefined, { warn: (m) => warnings.push(m) });
    const lease = await s.grantLease(3);
    await etcdGateway(cluster.endpoints[0]!, "/v3/lease/revoke", { ID: lease.id.toString() });
    const deadline = Date.now() + 10_000;
    while (warnings.length === 0 && Date.now() < deadline) await Bun.sleep(100);
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toContain(`"${lease.id}"`);
  });

  test("a lease TTL below one second or fractional is refused", async () => {
    const s = await open();
    await expect(s.grantLease(0)).rejects.toThrow('got "0"');
    await expect(s.grantLease(1.5)).rejects.toThrow('got "1.5"');
  });

  test("a closed store refuses requests with StoreUnavailableError", async () => {
    const s = await open();
    await s.close();
    await expect(s.get("k")).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  test("opening against an endpoint with no etcd fails with StoreUnavailableError naming it", async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const err = await etcdStore({ endpoints: [endpoint], connectionTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toContain(endpoint);
  });

  test("TLS settings with an http endpoint are refused", async () => {
    const err = await etcdStore({ endpoints: cluster.endpoints, tls: { caPath: "/nonexistent/ca.pem" } }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toContain(`got "${cluster.endpoints[0]}/"`);
  });

  test("a missing client certificate is named with its config key", async () => {
    const err = await etcdStore({
      endpoints: ["https://localhost:2379"],
      tls: { certPath: "/nonexistent/c.pem", keyPath: "/nonexistent/k.pem" },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toContain("payment_channel_cert_path");
  });
});

describe("etcd store over mTLS", () => {
  let dir: string;
  let tlsCluster: EtcdCluster | undefined;
  let pki: TestPki;
  /** The cluster's endpoints by host name, which the server certificate names. */
  let byName: string[];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "snetd-etcd-tls-"));
    pki = makeTestPki(dir);
    tlsCluster = await startEtcd({
      tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile },
    });
    byName = tlsCluster.endpoints.map((e) => e.replace("127.0.0.1", "localhost"));
  });
  afterAll(async () => {
    await tlsCluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const mtls = () => ({ certPath: pki.clientCertFile, keyPath: pki.clientKeyFile, caPath: pki.caFile });

  test("connects with the three certificate paths", async () => {
    expect(byName[0]!.startsWith("https://localhost:")).toBe(true);
    const s = await etcdStore({ endpoints: byName, tls: mtls() });
    try {
      expect(
        await s.commit({ compare: [{ key: "tls", version: 0n }], then: [{ op: "put", key: "tls", value: "yes" }] }),
      ).toBe(true);
      expect((await s.get("tls"))?.value).toBe("yes");
    } finally {
      await s.close();
    }
  });

  test("an IP endpoint works when the certificate's server name is given", async () => {
    const s = await etcdStore({ endpoints: tlsCluster!.endpoints, tls: { ...mtls(), serverName: "localhost" } });
    try {
      expect(await s.commit({ compare: [], then: [{ op: "put", key: "tls-ip", value: "yes" }] })).toBe(true);
    } finally {
      await s.close();
    }
  });

  // Bun refuses an IP address as TLS server name (Node only warns), so the store says so up front.
  test.if(Boolean(process.versions.bun))(
    "under Bun an IP endpoint without a server name is refused with the fix",
    async () => {
      const err = await etcdStore({ endpoints: tlsCluster!.endpoints, tls: mtls() }).catch((e: unknown) => e);
      expect((err as Error).message).toContain("use the host name in the server certificate");
    },
  );

  test("without a client certificate the server refuses the connection", async () => {
    const err = await etcdStore({ endpoints: byName, connectionTimeoutMs: 1500, tls: { caPath: pki.caFile } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
  });

  test("a server certificate from another CA is refused", async () => {
    const other = makeTestPki(mkdtempSync(join(dir, "other-")));
    const err = await etcdStore({
      endpoints: byName,
      connectionTimeoutMs: 1500,
      tls: { certPath: pki.clientCertFile, keyPath: pki.clientKeyFile, caPath: other.caFile },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
  });
});

test("the kit fails loudly, with the fix, when etcd is not installed", () => {
  const saved = process.env.ETCD_BIN;
  process.env.ETCD_BIN = "/nonexistent/etcd";
  try {
    expect(() => etcdBinary()).toThrow(
      "etcd is not installed: run tests/kit/setup.sh or apt-get install -y etcd-server",
    );
  } finally {
    if (saved === undefined) delete process.env.ETCD_BIN;
    else process.env.ETCD_BIN = saved;
  }
});

describe("prefixEnd", () => {
  test("increments the last byte below 0xff and drops what follows", () => {
    expect([...prefixEnd(Buffer.from("ab"))]).toEqual([0x61, 0x63]);
    expect([...prefixEnd(Buffer.from([0x61, 0xff, 0xff]))]).toEqual([0x62]);
  });
  test("an all-0xff prefix ranges to the end of the keyspace", () => {
    expect([...prefixEnd(Buffer.from([0xff, 0xff]))]).toEqual([0]);
  });
});
