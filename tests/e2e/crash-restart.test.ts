// Crash safety of escrow payments through dist/snetd (protocol/payments.md#escrow-invariants b and c): a daemon
// killed with SIGKILL and restarted on the same data_dir remembers every payment it acknowledged — and
// every payment whose call reached the service, since a payment is stored before the call is forwarded —
// and no channel stays blocked. And with the chain gone, an unknown channel fails closed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { bytesToBigint } from "../../src/core/numbers.ts";
import { type DaemonProcess, ensureBinary, startDaemon } from "../kit/daemon.ts";
import { call, echoClient } from "../kit/echo-service.ts";
import { type ChannelRef, echoOnce, stateRequest, stateRpc, channelState as stateVia } from "../kit/paid-daemon.ts";
import { until } from "../kit/wait.ts";
import { startWorld, type World } from "../kit/world.ts";

const SIGNATURE_KEY = "snet-payment-channel-signature-bin";
const E2E_TIMEOUT_MS = 90_000;

let world: World;
let dataDir: string;
/** The daemon currently serving `dataDir`; replaced by every restart. */
let daemon: DaemonProcess | undefined;

beforeAll(async () => {
  await ensureBinary();
  world = await startWorld();
  dataDir = mkdtempSync(join(tmpdir(), "snetd-crash-"));
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
  await world?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** (Re)starts the daemon on the shared data_dir; startDaemon gives every start a fresh config dir. */
async function restart(): Promise<DaemonProcess> {
  daemon = await startDaemon({ config: world.daemonConfig({ data_dir: dataDir, block_cache_ms: 0 }), binary: true });
  return daemon;
}

async function sigkill(d: DaemonProcess): Promise<void> {
  expect(await d.kill("SIGKILL")).toBeNull();
  expect((await d.waitExit()).signal).toBe("SIGKILL");
  // Only removes the kit's config dir now; the payment state lives in the shared data_dir.
  await d.stop();
}

const channelState = (d: DaemonProcess, ch: ChannelRef) => stateVia(world, d.endpoint, ch);
const echoCall = (d: DaemonProcess, metadata: Record<string, string | Buffer>) => echoOnce(d.endpoint, metadata);

describe("SIGKILL and restart on the same data_dir", () => {
  test(
    "between calls: the last accepted amount and signature survive and payments continue from them",
    async () => {
      const ch = await world.openFundedChannel();
      const first = await restart();
      let last: Record<string, string | Buffer> | undefined;
      await first.showLogsOnFailure(async () => {
        for (const amount of [world.price, 2n * world.price]) {
          last = ch.pay(amount);
          expect((await echoCall(first, last)).status.code).toBe(grpc.status.OK);
        }
      });
      await sigkill(first);

      const second = await restart();
      await second.showLogsOnFailure(async () => {
        const state = await channelState(second, ch);
        expect(state.amount).toBe(2n * world.price);
        expect(Buffer.from(state.signature).equals(last![SIGNATURE_KEY] as Buffer)).toBe(true);
        // The acknowledged payment cannot be spent again after the restart…
        expect((await echoCall(second, last!)).status).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `income 0 does not equal to price ${world.price}`,
        });
        // …and the next one continues from it.
        expect((await echoCall(second, ch.pay(3n * world.price))).status.code).toBe(grpc.status.OK);
        expect((await channelState(second, ch)).amount).toBe(3n * world.price);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "during a paid Slow call: after restart the channel is free, and the killed call stays charged (the service had it)",
    async () => {
      const ch = await world.openFundedChannel();
      const first = daemon ?? (await restart());
      await first.showLogsOnFailure(async () => {
        expect((await echoCall(first, ch.pay(world.price))).status.code).toBe(grpc.status.OK);
      });

      const client = echoClient(first.endpoint);
      try {
        const before = world.echo.calls;
        const cancelledBefore = world.echo.cancelled;
        const slow = call(client, "Slow", { millis: 20_000 }, ch.pay(2n * world.price));
        await until(() => world.echo.calls === before + 1, "the Slow call to reach the service");
        await sigkill(first);
        const killed = await slow;
        expect(killed.status.code).toBe(grpc.status.UNAVAILABLE);
        // The service sees its caller go away rather than finishing 20 s later.
        await world.echo.waitCancelled(cancelledBefore + 1);
      } finally {
        client.close();
      }

      const second = await restart();
      await second.showLogsOnFailure(async () => {
        // The charge was stored before the service got the call, so the signed amount is not forgotten.
        expect((await channelState(second, ch)).amount).toBe(2n * world.price);
        // The same payment again is a replay; the next amount is accepted at once: no slot is held.
        expect((await echoCall(second, ch.pay(2n * world.price))).status).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `income 0 does not equal to price ${world.price}`,
        });
        const before = world.echo.calls;
        const next = await echoCall(second, ch.pay(3n * world.price));
        expect(next.status).toEqual({ code: grpc.status.OK, details: "OK" });
        expect(world.echo.calls).toBe(before + 1);
        expect((await channelState(second, ch)).amount).toBe(3n * world.price);
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("the chain goes away", () => {
  test(
    "an unknown channel fails closed with UNAVAILABLE; a known one is still served from the store",
    async () => {
      // Its own world: this test stops anvil for good.
      const w = await startWorld();
      let d: DaemonProcess | undefined;
      try {
        const known = await w.openFundedChannel();
        const unknown = await w.openFundedChannel();
        d = await startDaemon({ config: w.daemonConfig(), binary: true });
        const running = d;
        await running.showLogsOnFailure(async () => {
          const client = echoClient(running.endpoint);
          const rpc = stateRpc(running.endpoint);
          const state = (block: bigint) => rpc.call(stateRequest(w, known, block));
          try {
            expect((await call(client, "Echo", { text: "paid" }, known.pay(w.price))).status.code).toBe(grpc.status.OK);
            const head = await w.head();
            // Also leaves the daemon's head cache at the last block the chain will ever report.
            expect((await state(head)).status.code).toBe(grpc.status.OK);

            await w.anvil.stop();
            const before = w.echo.calls;
            const r = await call(client, "Echo", { text: "unpaid" }, unknown.pay(w.price));
            expect(r.status.code).toBe(grpc.status.UNAVAILABLE);
            expect(r.status.details).toStartWith("unable to read channel details from blockchain");
            expect(w.echo.calls).toBe(before);

            // No chain RPC on the steady-state path: the stored channel still answers and still pays.
            const stored = await state(head);
            expect(stored.status.code).toBe(grpc.status.OK);
            expect(bytesToBigint(stored.reply!.currentSignedAmount)).toBe(w.price);
            expect((await call(client, "Echo", { text: "paid" }, known.pay(2n * w.price))).status.code).toBe(
              grpc.status.OK,
            );
            expect(w.echo.calls).toBe(before + 1);
          } finally {
            client.close();
            rpc.close();
          }
        });
      } finally {
        await d?.stop();
        // Tolerates the anvil stopped above (Anvil.stop is idempotent, World.stop swallows errors).
        await w.stop();
      }
    },
    E2E_TIMEOUT_MS,
  );
});
