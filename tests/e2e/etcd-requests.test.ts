// What a paid call costs on etcd, counted by etcd itself (grpc_server_handled_total on its /metrics): a
// replica that holds a channel's slot pays each call with exactly one Txn — the charge — and no read;
// taking the channel costs one Txn and one Range once. Two replicas sharing a channel hand it over on
// request, and every call is still paid exactly once (protocol/state.md#slots-and-leases).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { etcdRequests } from "../../bench/store-counters.ts";
import { type DaemonProcess, ensureBinary, startDaemon } from "../kit/daemon.ts";
import { call, echoClient } from "../kit/echo-service.ts";
import { type EtcdCluster, startEtcd } from "../kit/etcd.ts";
import { channelState } from "../kit/paid-daemon.ts";
import { freePort } from "../kit/ports.ts";
import { startWorld, type World } from "../kit/world.ts";

const CALLS = 20;
let world: World;
let etcd: EtcdCluster;
const daemons: DaemonProcess[] = [];

beforeAll(async () => {
  await ensureBinary();
  [world, etcd] = await Promise.all([startWorld(), startEtcd()]);
  const config = world.daemonConfig({
    payment_channel_storage_type: "etcd",
    payment_channel_storage_client: { endpoints: etcd.endpoints },
    // Background store reads (the health probe) would blur the count.
    health_probe_interval: "1h",
    log: { level: "info" },
  });
  for (let i = 0; i < 2; i++)
    daemons.push(
      await startDaemon({ config: { ...config, daemon_endpoint: `127.0.0.1:${await freePort()}` }, binary: true }),
    );
}, 120_000);

afterAll(async () => {
  for (const d of daemons) await d.stop();
  await etcd?.stop();
  await world?.stop();
}, 60_000);

/** Txn and Range requests etcd handled while `work` ran. */
async function counted(work: () => Promise<void>): Promise<{ txn: number; range: number }> {
  const endpoint = etcd.endpoints[0]!;
  const before = await etcdRequests(endpoint);
  await work();
  const after = await etcdRequests(endpoint);
  return { txn: (after.Txn ?? 0) - (before.Txn ?? 0), range: (after.Range ?? 0) - (before.Range ?? 0) };
}

describe("etcd requests per paid call", () => {
  test(`${CALLS} paid calls on a channel this replica holds: ${CALLS} Txn, no Range`, async () => {
    const d = daemons[0]!;
    const ch = await world.openFundedChannel();
    const client = echoClient(d.endpoint);
    try {
      await d.showLogsOnFailure(async () => {
        const first = await counted(async () => {
          expect((await call(client, "Echo", { text: "paid" }, ch.pay(world.price))).status.code).toBe(grpc.status.OK);
        });
        // Taking the channel: the slot (Txn) and the record (Range); then the charge (Txn).
        expect(first).toEqual({ txn: 2, range: 1 });
        const steady = await counted(async () => {
          for (let i = 2n; i <= BigInt(CALLS) + 1n; i++) {
            expect((await call(client, "Echo", { text: "paid" }, ch.pay(i * world.price))).status.code).toBe(
              grpc.status.OK,
            );
          }
        });
        expect(steady).toEqual({ txn: CALLS, range: 0 });
      });
    } finally {
      client.close();
    }
  }, 60_000);

  test("a channel paid through two replicas by turns: handed over on request, every call paid once", async () => {
    const ch = await world.openFundedChannel();
    const clients = daemons.map((d) => echoClient(d.endpoint));
    try {
      for (let i = 1n; i <= 10n; i++) {
        const r = await call(clients[Number(i % 2n)]!, "Echo", { text: "turns" }, ch.pay(i * world.price));
        expect({ call: i, code: r.status.code, details: r.status.details }).toEqual({
          call: i,
          code: grpc.status.OK,
          details: "OK",
        });
      }
      expect((await channelState(world, daemons[0]!.endpoint, ch)).amount).toBe(10n * world.price);
    } finally {
      for (const c of clients) c.close();
    }
  }, 60_000);
});
