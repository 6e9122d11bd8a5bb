// Crash safety of a replica group (issue 4; protocol/payments.md#escrow-invariants b and c;
// protocol/reference-differences.md#d1): one of two dist/snetd replicas on etcd is SIGKILLed in the middle of
// paid calls, again and again, and restarted each time. After every kill no channel stays blocked longer than
// the slot lease TTL (the reference's lock-forever bug), and no accepted amount is lost or double counted.
//
// CI runs a reduced count; SNETD_LONG_TESTS=1 runs the long form.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import {
  type Account,
  channelBusyText,
  paidCall as ledgerCall,
  newAccount,
  payNext,
  reconcile,
} from "../kit/crash-ledger.ts";
import { type DaemonProcess, ensureBinary, startDaemon } from "../kit/daemon.ts";
import { type EtcdCluster, startEtcd } from "../kit/etcd.ts";
import { channelState } from "../kit/paid-daemon.ts";
import { freePort } from "../kit/ports.ts";
import { until } from "../kit/wait.ts";
import { type Channel, startWorld, type World } from "../kit/world.ts";

const LONG = process.env.SNETD_LONG_TESTS === "1";
const ITERATIONS = LONG ? 300 : 10;
const LEASE_TTL_S = 2;
/** A killed replica's slots go when etcd expires its lease: TTL, plus etcd's expiry check and a busy CI machine. */
const UNBLOCKED_WITHIN_MS = LEASE_TTL_S * 1000 + 5000;
const CHANNELS = 4;

let world: World;
let etcd: EtcdCluster;
let config: Record<string, unknown>;
/** The replica that is killed and restarted; always on the same daemon_endpoint. */
let victim: DaemonProcess | undefined;
/** The replica that stays up. */
let survivor: DaemonProcess | undefined;

beforeAll(async () => {
  await ensureBinary();
  [world, etcd] = await Promise.all([startWorld(), startEtcd()]);
  config = world.daemonConfig({
    payment_channel_storage_type: "etcd",
    payment_channel_storage_client: { endpoints: etcd.endpoints },
    channel_lease_ttl_s: LEASE_TTL_S,
    log: { level: "info" },
  });
  [victim, survivor] = await Promise.all([
    startDaemon({ config: { ...config, daemon_endpoint: `127.0.0.1:${await freePort()}` }, binary: true }),
    startDaemon({ config, binary: true }),
  ]);
}, 120_000);

afterAll(async () => {
  await victim?.stop();
  await survivor?.stop();
  await etcd?.stop();
  await world?.stop();
}, 60_000);

const paidCall = (d: DaemonProcess, method: "Echo" | "Slow", md: Record<string, string | Buffer>) =>
  ledgerCall(d.endpoint, method, md);

const authorised = async (d: DaemonProcess, ch: Channel): Promise<bigint> =>
  (await channelState(world, d.endpoint, ch)).amount;

/**
 * After a kill: the channel's state is exactly what the client can explain (an acknowledged payment is never
 * lost; an unacknowledged one is stored whole or not at all), and it is free again within the lease TTL.
 */
async function settleAfterKill(d: DaemonProcess, a: Account, killedAt: number): Promise<void> {
  const amount = await authorised(d, a.ch);
  expect(reconcile(a, amount)).toBeUndefined();
  const next = await payNext(d.endpoint, a, world.price, killedAt + UNBLOCKED_WITHIN_MS);
  if (!next.ok && next.status.details === channelBusyText(a.ch.id)) {
    throw new Error(
      `channel ${a.ch.id} is still busy ${Date.now() - killedAt} ms after the replica holding it was killed`,
    );
  }
  expect(next).toEqual({ ok: true });
}

describe("SIGKILL a replica in the middle of paid calls, repeatedly", () => {
  test(
    `${ITERATIONS} kills: no channel stays blocked, no accepted amount is lost`,
    async () => {
      console.log(
        `replicas-crash: ${ITERATIONS} iterations (${LONG ? "SNETD_LONG_TESTS=1" : "reduced CI count; SNETD_LONG_TESTS=1 runs 300"})`,
      );
      const accounts: Account[] = [];
      for (let i = 0; i < CHANNELS; i++) accounts.push(newAccount(await world.openFundedChannel()));

      for (let iteration = 0; iteration < ITERATIONS; iteration++) {
        const d = victim!;
        let killed = false;
        await d.showLogsOnFailure(async () => {
          // Half the channels hold a Slow call in the service; the others pay short calls back to back, so
          // the kill lands anywhere in their calls: before the slot, in the service, during the commit.
          const slow = accounts.filter((_, i) => (i + iteration) % 2 === 0);
          const busy = accounts.filter((a) => !slow.includes(a));
          const before = world.echo.calls;
          // Not awaited: the kill ends these calls, and each payment's fate is read back after it.
          for (const a of slow) {
            a.inFlight = a.expected + world.price;
            void paidCall(d, "Slow", a.ch.pay(a.inFlight));
          }
          const payUntilKilled = async (a: Account) => {
            while (!killed) {
              const amount = a.expected + world.price;
              a.inFlight = amount;
              const r = await paidCall(d, "Echo", a.ch.pay(amount));
              if (r.status.code !== grpc.status.OK) {
                // Only the kill may fail a call here; its payment's fate is read back afterwards.
                if (!killed)
                  throw new Error(
                    `paid call on channel ${a.ch.id} failed before the kill: ${r.status.code} ${r.status.details}`,
                  );
                return;
              }
              a.inFlight = undefined;
              a.expected = amount;
              a.ok++;
            }
          };
          for (const a of busy) void payUntilKilled(a);
          await until(
            () => world.echo.calls >= before + slow.length + busy.length,
            "the Slow calls to reach the service",
          );
          await Bun.sleep(Math.random() * 30);
          killed = true;
          expect(await d.kill("SIGKILL")).toBeNull();
        });
        const killedAt = Date.now();
        await d.stop();
        // The replica restarts while the survivor shows every channel free again within the lease TTL.
        const restarted = startDaemon({ config: { ...config, daemon_endpoint: d.endpoint }, binary: true });
        await survivor!.showLogsOnFailure(async () => {
          for (const a of accounts) await settleAfterKill(survivor!, a, killedAt);
        });
        victim = await restarted;
      }

      // Every channel works through both replicas, and the group holds exactly what the client can explain.
      for (const d of [victim!, survivor!]) {
        await d.showLogsOnFailure(async () => {
          for (const a of accounts) {
            expect((await paidCall(d, "Echo", a.ch.pay(a.expected + world.price))).status.code).toBe(grpc.status.OK);
            a.expected += world.price;
            a.ok++;
          }
        });
      }
      for (const a of accounts) {
        expect(await authorised(survivor!, a.ch)).toBe(a.expected);
        expect(a.expected).toBe(world.price * BigInt(a.ok + a.storedBeforeKill));
      }
      const ok = accounts.reduce((n, a) => n + a.ok, 0);
      const stored = accounts.reduce((n, a) => n + a.storedBeforeKill, 0);
      console.log(
        `replicas-crash: ${ok} acknowledged payments, ${stored} killed calls whose payment was stored before the kill`,
      );
    },
    ITERATIONS * 15_000 + 60_000,
  );
});
