/** The managed etcd member (`payment_channel_storage_server`) against the real etcd binary. */
import { afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Store } from "../../src/store/contract.ts";
import { etcdStore } from "../../src/store/etcd.ts";
import {
  type ManagedEtcd,
  ManagedEtcdError,
  type ManagedEtcdOptions,
  startManagedEtcd,
} from "../../src/store/etcd-server.ts";
import { etcdBinary } from "../kit/etcd.ts";
import { freePort } from "../kit/ports.ts";

let binary: string;
let cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  binary = etcdBinary();
});
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "snetd-managed-etcd-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function options(id = "storage-1", overrides: Partial<ManagedEtcdOptions> = {}): Promise<ManagedEtcdOptions> {
  const peerPort = overrides.peerPort ?? (await freePort());
  return {
    id,
    scheme: "http",
    host: "127.0.0.1",
    clientPort: await freePort(),
    peerPort,
    token: `test-${process.pid}-${Math.random().toString(36).slice(2)}`,
    cluster: `${id}=http://127.0.0.1:${peerPort}`,
    dataDir: join(tempDir(), `${id}.etcd`),
    startupTimeoutMs: 20_000,
    binary,
    ...overrides,
  };
}

async function start(opts: ManagedEtcdOptions): Promise<ManagedEtcd> {
  const member = await startManagedEtcd(opts);
  cleanups.push(() => member.stop());
  return member;
}

async function store(endpoint: string): Promise<Store> {
  const s = await etcdStore({ endpoints: [endpoint] });
  cleanups.push(() => s.close());
  return s;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );

test("a managed member starts, serves, and leaves no process behind after stop", async () => {
  const opts = await options();
  const member = await start(opts);
  expect(member.clientUrl).toBe(`http://127.0.0.1:${opts.clientPort}`);
  const s = await store(member.clientUrl);
  expect(await s.commit({ compare: [{ key: "k", version: 0n }], then: [{ op: "put", key: "k", value: "v" }] })).toBe(
    true,
  );
  expect((await s.get("k"))?.value).toBe("v");
  await s.close();
  expect(alive(member.pid)).toBe(true);
  await member.stop();
  expect(alive(member.pid)).toBe(false);
});

test("a restart with the same data dir keeps the data", async () => {
  const opts = await options();
  const first = await start(opts);
  const s1 = await store(first.clientUrl);
  await s1.commit({ compare: [], then: [{ op: "put", key: "kept", value: "yes" }] });
  await s1.close();
  await first.stop();
  const second = await start(opts);
  const s2 = await store(second.clientUrl);
  expect((await s2.get("kept"))?.value).toBe("yes");
});

test("a busy client port is refused before etcd starts, naming client_port", async () => {
  const opts = await options();
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(opts.clientPort, "127.0.0.1", () => r()));
  cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
  const err = await rejection(startManagedEtcd(opts));
  expect(err).toBeInstanceOf(ManagedEtcdError);
  expect((err as ManagedEtcdError).key).toBe("payment_channel_storage_server.client_port");
  expect((err as Error).message).toContain(String(opts.clientPort));
});

test("a busy peer port is refused, naming peer_port", async () => {
  const opts = await options();
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(opts.peerPort, "127.0.0.1", () => r()));
  cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
  const err = await rejection(startManagedEtcd(opts));
  expect((err as ManagedEtcdError).key).toBe("payment_channel_storage_server.peer_port");
});

test("a missing binary is refused, naming binary and how to install it", async () => {
  const err = await rejection(startManagedEtcd(await options("storage-1", { binary: "/nonexistent/etcd" })));
  expect(err).toBeInstanceOf(ManagedEtcdError);
  expect((err as ManagedEtcdError).key).toBe("payment_channel_storage_server.binary");
  expect((err as Error).message).toContain("etcd-server");
});

test("a binary that is not a program is refused, naming binary", async () => {
  const fake = join(tempDir(), "etcd");
  writeFileSync(fake, "\u0000not a program", { mode: 0o755 });
  const err = await rejection(startManagedEtcd(await options("storage-1", { binary: fake })));
  expect((err as ManagedEtcdError).key).toBe("payment_channel_storage_server.binary");
});

test("a data dir that cannot be created is refused, naming data_dir", async () => {
  const file = join(tempDir(), "a-file");
  writeFileSync(file, "");
  const err = await rejection(startManagedEtcd(await options("storage-1", { dataDir: join(file, "data") })));
  expect((err as ManagedEtcdError).key).toBe("payment_channel_storage_server.data_dir");
});

test("a cluster string without this member is refused, naming cluster", async () => {
  const err = await rejection(startManagedEtcd(await options("storage-1", { cluster: "other=http://127.0.0.1:1" })));
  expect((err as ManagedEtcdError).key).toBe("payment_channel_storage_server.cluster");
});

test("a member of a cluster that never reaches quorum times out, naming startup_timeout, and is stopped", async () => {
  const opts = await options();
  const missingPeer = await freePort();
  const err = await rejection(
    startManagedEtcd({
      ...opts,
      cluster: `${opts.cluster},storage-2=http://127.0.0.1:${missingPeer}`,
      startupTimeoutMs: 1500,
    }),
  );
  expect((err as ManagedEtcdError).key).toBe("payment_channel_storage_server.startup_timeout");
  expect((err as Error).message).toContain("last lines of etcd's log");
  // The port is free again: the timed-out member was stopped.
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen(opts.clientPort, "127.0.0.1", () => probe.close(() => resolve()));
  });
});

test("two managed members with a 2-member cluster string form one cluster", async () => {
  const [p1, p2] = [await freePort(), await freePort()];
  const cluster = `storage-1=http://127.0.0.1:${p1},storage-2=http://127.0.0.1:${p2}`;
  const token = `pair-${process.pid}`;
  const o1 = await options("storage-1", { peerPort: p1, cluster, token });
  const o2 = await options("storage-2", { peerPort: p2, cluster, token });
  // Neither is healthy alone, so both must be starting at once.
  const [m1, m2] = await Promise.all([start(o1), start(o2)]);
  const s1 = await store(m1.clientUrl);
  const s2 = await store(m2.clientUrl);
  expect(
    await s1.commit({
      compare: [{ key: "shared", version: 0n }],
      then: [{ op: "put", key: "shared", value: "from-1" }],
    }),
  ).toBe(true);
  expect((await s2.get("shared"))?.value).toBe("from-1");
  expect(
    await s2.commit({
      compare: [{ key: "shared", version: 0n }],
      then: [{ op: "put", key: "shared", value: "from-2" }],
    }),
  ).toBe(false);
  await s1.close();
  await s2.close();
  await m1.stop();
  await m2.stop();
  expect(alive(m1.pid) || alive(m2.pid)).toBe(false);
});
