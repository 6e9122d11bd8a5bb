// Auto-claim inside `serve` (dist/snetd, opt-in `auto_claim.*`): a channel about to expire is claimed
// before it does, a channel past `unclaimed_threshold_cogs` is claimed, one below it is not, every claim
// is logged with its transaction hash, and a key that is not the payment address stops the daemon.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { mine } from "../kit/anvil.ts";
import { channelOnChain, mpeBalance } from "../kit/client.ts";
import { CLIENTS, PROVIDER } from "../kit/contracts.ts";
import { type DaemonProcess, ensureBinary, startDaemon } from "../kit/daemon.ts";
import { call, echoClient } from "../kit/echo-service.ts";
import { waitFor } from "../kit/wait.ts";
import { type Channel, startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 120_000;
/** Bounded waits for the background claimer: rounds every 2 s, generous for a slow machine. */
const CLAIMER_WAIT = { timeoutMs: 60_000, intervalMs: 200 };
const EXPIRING_WITHIN = 50n;

let world: World;
let daemon: DaemonProcess;
let echo: grpc.Client;
let threshold: bigint;

beforeAll(async () => {
  await ensureBinary();
  world = await startWorld();
  threshold = 3n * world.price;
  daemon = await startDaemon({
    config: world.daemonConfig({
      auto_claim: {
        enabled: true,
        interval: "2s",
        expiring_within_blocks: Number(EXPIRING_WITHIN),
        unclaimed_threshold_cogs: Number(threshold),
      },
      private_key: PROVIDER.privateKey,
    }),
    binary: true,
  });
  echo = echoClient(daemon.endpoint);
}, 120_000);

afterAll(async () => {
  echo?.close();
  await daemon?.stop();
  await world?.stop();
});

async function pay(ch: Channel, calls: number): Promise<bigint> {
  for (let i = 1; i <= calls; i++) {
    expect((await call(echo, "Echo", { text: "paid" }, ch.pay(BigInt(i) * world.price))).status.code).toBe(
      grpc.status.OK,
    );
  }
  return BigInt(calls) * world.price;
}

const balance = () => mpeBalance(world.deployment, PROVIDER.address);

/** The provider's balance once a claim has raised it above `before`. */
const balanceAbove = (before: bigint) =>
  waitFor(
    "the provider's balance to grow",
    async () => {
      const b = await balance();
      return b > before ? b : undefined;
    },
    CLAIMER_WAIT,
  );

/** The transaction hash auto-claim logged for a channel, once it has. */
async function loggedClaim(ch: Channel): Promise<`0x${string}`> {
  const pattern = new RegExp(`auto-claim: claimed channel_id=${ch.id} .*tx="(0x[0-9a-f]{64})"`);
  return waitFor(
    `the auto-claim log line of channel ${ch.id}`,
    async () => pattern.exec(daemon.logs())?.[1] as `0x${string}` | undefined,
    CLAIMER_WAIT,
  );
}

describe("auto-claim", () => {
  test(
    "a channel about to expire is claimed before it expires",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        // Payable now (head + threshold < expiration) and far outside the claim window.
        const ch = await world.openFundedChannel({
          expiration: (await world.head()) + world.expirationThreshold + EXPIRING_WITHIN + 40n,
        });
        const before = await balance();
        const amount = await pay(ch, 1);
        expect(amount).toBeLessThan(threshold);
        // Into the window, still short of the expiration.
        await mine(world.anvil.rpcUrl, world.expirationThreshold + 45n);
        const head = await world.head();
        expect(ch.expiration - head).toBeLessThanOrEqual(EXPIRING_WITHIN);
        expect(ch.expiration - head).toBeGreaterThan(0n);

        const after = await balanceAbove(before);
        expect(after).toBe(before + amount);
        expect((await channelOnChain(world.deployment, ch.id)).nonce).toBe(1n);
        const tx = await loggedClaim(ch);
        const receipt = await world.deployment.publicClient.getTransactionReceipt({ hash: tx });
        expect(receipt.status).toBe("success");
        expect(receipt.blockNumber).toBeLessThan(ch.expiration);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "unclaimed_threshold_cogs: a channel that reaches it is claimed, one below it is not",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const low = await world.openFundedChannel();
        const high = await world.openFundedChannel();
        const before = await balance();
        // Low is paid first, so any round that sees high also sees low.
        const lowAmount = await pay(low, 2);
        expect(lowAmount).toBeLessThan(threshold);
        const highAmount = await pay(high, 3);
        expect(highAmount).toBe(threshold);

        const after = await balanceAbove(before);
        expect(after).toBe(before + highAmount);
        await loggedClaim(high);
        expect((await channelOnChain(world.deployment, high.id)).nonce).toBe(1n);
        expect((await channelOnChain(world.deployment, low.id)).nonce).toBe(0n);
        // Low was never started: the client continues on nonce 0 where it left off.
        expect((await call(echo, "Echo", { text: "paid" }, low.pay(lowAmount + world.price))).status.code).toBe(
          grpc.status.OK,
        );
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("the claim key of serve", () => {
  test(
    "a key that is not the payment address stops the daemon with exit 2, without printing the key",
    async () => {
      const client = CLIENTS[0]!;
      for (const config of [
        world.daemonConfig({ auto_claim: { enabled: true }, private_key: client.privateKey }),
        world.daemonConfig({ auto_claim: { enabled: true } }),
      ]) {
        const refused = await startDaemon({ config, binary: true, expectExit: true });
        const { code } = await refused.waitExit();
        expect(code).toBe(2);
        const logs = refused.logs();
        if (config.private_key) {
          expect(logs).toContain(PROVIDER.address);
          expect(logs).toContain(client.address);
          expect(logs.toLowerCase()).not.toContain(client.privateKey.slice(2).toLowerCase());
        } else {
          expect(logs).toContain("no private key");
        }
      }
    },
    E2E_TIMEOUT_MS,
  );
});
