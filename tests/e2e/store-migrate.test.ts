// `snetd store migrate` end to end (issue 4, "Migration"): a provider outgrowing one machine moves the
// embedded store's payment state into etcd and loses nothing — the etcd daemon reports the same channel
// state, refuses a replay of the last accepted payment and accepts the next one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type DaemonProcess, ensureBinary, runCli, startDaemon } from "../kit/daemon.ts";
import { type EtcdCluster, startEtcd } from "../kit/etcd.ts";
import { type ChannelRef, echoOnce, channelState as stateVia } from "../kit/paid-daemon.ts";
import { startWorld, type World } from "../kit/world.ts";

const SIGNATURE_KEY = "snet-payment-channel-signature-bin";
const E2E_TIMEOUT_MS = 90_000;

let world: World;
let etcd: EtcdCluster;
let dir: string;
const daemons: DaemonProcess[] = [];

beforeAll(async () => {
  await ensureBinary();
  dir = mkdtempSync(join(tmpdir(), "snetd-migrate-e2e-"));
  [world, etcd] = await Promise.all([startWorld(), startEtcd()]);
}, 120_000);

afterAll(async () => {
  for (const d of daemons) await d.stop();
  await etcd?.stop();
  await world?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function daemonOn(config: Record<string, unknown>): Promise<DaemonProcess> {
  const d = await startDaemon({ config: world.daemonConfig({ block_cache_ms: 0, ...config }), binary: true });
  daemons.push(d);
  return d;
}

const channelState = (d: DaemonProcess, ch: ChannelRef) => stateVia(world, d.endpoint, ch);
const echoCall = (d: DaemonProcess, metadata: Record<string, string | Buffer>) => echoOnce(d.endpoint, metadata);

describe("snetd store migrate", () => {
  test(
    "moves the embedded store into etcd; a daemon on etcd continues every channel where sqlite left it",
    async () => {
      const dataDir = join(dir, "data");
      const [a, b] = [await world.openFundedChannel(), await world.openFundedChannel()];
      const sqliteDaemon = await daemonOn({ data_dir: dataDir, payment_channel_storage_type: "sqlite" });
      const last = new Map<bigint, Record<string, string | Buffer>>();
      await sqliteDaemon.showLogsOnFailure(async () => {
        for (const [ch, calls] of [
          [a, 3n],
          [b, 1n],
        ] as const) {
          for (let i = 1n; i <= calls; i++) {
            const md = ch.pay(i * world.price);
            expect((await echoCall(sqliteDaemon, md)).status.code).toBe(grpc.status.OK);
            last.set(ch.id, md);
          }
        }
      });
      await sqliteDaemon.stop();

      const configFile = join(dir, "migrate.config.json");
      const migrateConfig = world.daemonConfig({
        data_dir: dataDir,
        payment_channel_storage_client: { endpoints: etcd.endpoints },
      });
      writeFileSync(configFile, JSON.stringify(migrateConfig));
      const dry = await runCli(["store", "migrate", "-c", configFile, "--dry-run", "--json"], { binary: true });
      expect(dry.code, dry.stderr).toBe(0);
      const planned = JSON.parse(dry.stdout) as {
        dry_run: boolean;
        copied: number;
        skipped: number;
        conflicts: string[];
      };
      // At least one record per channel (the store holds other state too, e.g. the prepaid token secret).
      expect(planned).toMatchObject({ dry_run: true, skipped: 0, conflicts: [] });
      expect(planned.copied).toBeGreaterThanOrEqual(2);

      const migrated = await runCli(["store", "migrate", "-c", configFile, "--json"], { binary: true });
      expect(migrated.code, migrated.stderr).toBe(0);
      // The dry run wrote nothing: the real run copies all it counted.
      expect(JSON.parse(migrated.stdout)).toEqual({
        dry_run: false,
        copied: planned.copied,
        skipped: 0,
        conflicts: [],
      });
      // Running it again copies nothing and finds no conflict: every key is already there, equal.
      const again = await runCli(["store", "migrate", "-c", configFile, "--json"], { binary: true });
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual({ dry_run: false, copied: 0, skipped: planned.copied, conflicts: [] });

      // A fresh data_dir: whatever the etcd daemon knows came from etcd, not from the sqlite file.
      const etcdDaemon = await daemonOn({
        data_dir: join(dir, "data-etcd"),
        payment_channel_storage_type: "etcd",
        payment_channel_storage_client: { endpoints: etcd.endpoints },
      });
      await etcdDaemon.showLogsOnFailure(async () => {
        for (const [ch, calls] of [
          [a, 3n],
          [b, 1n],
        ] as const) {
          const state = await channelState(etcdDaemon, ch);
          expect(state.amount).toBe(calls * world.price);
          expect(Buffer.from(state.signature).equals(last.get(ch.id)![SIGNATURE_KEY] as Buffer)).toBe(true);
          // The last payment taken on sqlite is spent on etcd too…
          const replay = await echoCall(etcdDaemon, last.get(ch.id)!);
          expect(replay.status).toEqual({
            code: grpc.status.UNAUTHENTICATED,
            details: `income 0 does not equal to price ${world.price}`,
          });
          // …and the next one continues from it.
          const before = world.echo.calls;
          expect((await echoCall(etcdDaemon, ch.pay((calls + 1n) * world.price))).status.code).toBe(grpc.status.OK);
          expect(world.echo.calls).toBe(before + 1);
          expect((await channelState(etcdDaemon, ch)).amount).toBe((calls + 1n) * world.price);
        }
      });
    },
    E2E_TIMEOUT_MS,
  );
});
