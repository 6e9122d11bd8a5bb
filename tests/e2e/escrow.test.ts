// Paid calls end to end (issue "Paid calls", protocol/payments.md#escrow-order): dist/snetd in front
// of the echo service, anvil with the real contracts, a client that keeps no state of its own (the
// seed 002 flow): ask the daemon for the channel state, sign previous amount + price, call, repeat.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { addFunds, channelOnChain, claimOnChain, extendChannel, fundClient, mpeBalance } from "../kit/client.ts";
import { PROVIDER } from "../kit/contracts.ts";
import type { DaemonProcess } from "../kit/daemon.ts";
import { bidi, call, serverStream } from "../kit/echo-service.ts";
import { type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { until } from "../kit/wait.ts";
import { startWorld, type World } from "../kit/world.ts";

const SIGNATURE_KEY = "snet-payment-channel-signature-bin";
// Long enough for anvil transactions and a restarted daemon on a busy 2-core machine.
const E2E_TIMEOUT_MS = 60_000;

let world: World;
let snetd: PaidDaemon;
let daemon: DaemonProcess;
let echo: grpc.Client;

const signatureOf = (md: Record<string, string | Buffer>) => Uint8Array.from(md[SIGNATURE_KEY] as Buffer);

beforeAll(async () => {
  world = await startWorld();
  snetd = await startPaidDaemon(world);
  ({ daemon, echo } = snetd);
}, 120_000);

afterAll(async () => {
  await snetd?.stop();
  await world?.stop();
});

describe("a stateless client paying per call", () => {
  test(
    "pays 5 calls from GetChannelState alone; the 6th finds the channel exhausted",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const price = world.price;
        const ch = await world.openFundedChannel({ value: 5n * price });
        let last: Uint8Array | undefined;
        for (let i = 1n; i <= 5n; i++) {
          const state = await snetd.state(ch);
          expect(state.nonce).toBe(0n);
          expect(state.amount).toBe((i - 1n) * price);
          const md = ch.pay(state.amount + price, state.nonce);
          const before = world.echo.calls;
          // A client-supplied identity must be overwritten by the payer's (protocol/headers.md#forwarded-headers).
          const r = await call(
            echo,
            "Echo",
            { text: `call ${i}` },
            { ...md, "snet-user-address": "0x0000000000000000000000000000000000000001" },
          );
          expect(r.status).toEqual({ code: grpc.status.OK, details: "OK" });
          expect(r.response?.text).toBe(`call ${i}`);
          expect(r.headers["echo-snet-user-address"]).toBe(ch.client.address);
          expect(world.echo.calls).toBe(before + 1);
          last = signatureOf(md);
        }

        const state = await snetd.state(ch);
        expect(state.amount).toBe(5n * price);
        expect(Buffer.from(state.signature).equals(Buffer.from(last!))).toBe(true);

        const before = world.echo.calls;
        const r = await call(echo, "Echo", { text: "one too many" }, ch.pay(state.amount + price, state.nonce));
        expect(r.status).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `not enough tokens on payment channel, channel amount: ${5n * price}, payment amount: ${6n * price}`,
        });
        expect(world.echo.calls).toBe(before);
        expect((await snetd.state(ch)).amount).toBe(5n * price);
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("one call per channel at a time", () => {
  test(
    "a second call with the same next amount while a Slow call holds the channel is refused as busy",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const before = world.echo.calls;
        const slow = call(echo, "Slow", { millis: 1500 }, ch.pay(world.price));
        await until(() => world.echo.calls === before + 1, "the Slow call to reach the service");

        const second = await call(echo, "Echo", { text: "meanwhile" }, ch.pay(world.price));
        expect(second.status).toEqual({
          code: grpc.status.FAILED_PRECONDITION,
          details: `another transaction on channel: {ID: ${ch.id}} is in progress`,
        });

        const first = await slow;
        expect(first.status.code).toBe(grpc.status.OK);
        expect(first.response?.text).toBe("slept 1500 ms");
        expect(world.echo.calls).toBe(before + 1);
        expect((await snetd.state(ch)).amount).toBe(world.price);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "the same signature sent twice at once pays for exactly one call",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const md = ch.pay(world.price);
        const before = world.echo.calls;
        const results = await Promise.all([
          call(echo, "Slow", { millis: 300 }, md),
          call(echo, "Slow", { millis: 300 }, md),
        ]);
        const codes = results.map((r) => r.status.code);
        expect(codes.filter((c) => c === grpc.status.OK)).toHaveLength(1);
        // Busy if it arrived while the other was in flight, a replay (income 0) if after.
        const refused = results.find((r) => r.status.code !== grpc.status.OK)!;
        expect([
          `another transaction on channel: {ID: ${ch.id}} is in progress`,
          `income 0 does not equal to price ${world.price}`,
        ]).toContain(refused.status.details);
        expect(world.echo.calls).toBe(before + 1);
        expect((await snetd.state(ch)).amount).toBe(world.price);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a call the service fails is not charged: the same amount pays the next call",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const before = world.echo.calls;
        const failed = await call(
          echo,
          "Fail",
          { code: grpc.status.RESOURCE_EXHAUSTED, message: "model is overloaded" },
          ch.pay(world.price),
        );
        expect(failed.status).toEqual({ code: grpc.status.RESOURCE_EXHAUSTED, details: "model is overloaded" });
        expect(world.echo.calls).toBe(before + 1);
        expect((await snetd.state(ch)).amount).toBe(0n);

        const retried = await call(echo, "Echo", { text: "again" }, ch.pay(world.price));
        expect(retried.status.code).toBe(grpc.status.OK);
        expect(world.echo.calls).toBe(before + 2);
        expect((await snetd.state(ch)).amount).toBe(world.price);
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("streaming calls", () => {
  test(
    "a server stream and a bidi stream are each charged one price",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const stream = await serverStream(echo, { count: 3 }, ch.pay(world.price));
        expect(stream.status.code).toBe(grpc.status.OK);
        expect(stream.responses.map((m) => m.text)).toEqual(["reply 0", "reply 1", "reply 2"]);
        expect(stream.headers["echo-snet-user-address"]).toBe(ch.client.address);
        expect((await snetd.state(ch)).amount).toBe(world.price);

        const duplex = await bidi(
          echo,
          [{ text: "a" }, { text: "b" }, { text: "c" }, { text: "d" }],
          ch.pay(2n * world.price),
        );
        expect(duplex.status.code).toBe(grpc.status.OK);
        expect(duplex.responses.map((m) => m.text)).toEqual(["a", "b", "c", "d"]);
        expect((await snetd.state(ch)).amount).toBe(2n * world.price);

        // Four messages were one call: the next price step is accepted, a per-message charge would not be.
        const next = await call(echo, "Echo", { text: "after" }, ch.pay(3n * world.price));
        expect(next.status.code).toBe(grpc.status.OK);
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("the chain moves while the daemon runs", () => {
  test(
    "a top-up on-chain pays the next call without a restart",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const price = world.price;
        const ch = await world.openFundedChannel({ value: 2n * price });
        for (const amount of [price, 2n * price])
          expect((await call(echo, "Echo", { text: "x" }, ch.pay(amount))).status.code).toBe(grpc.status.OK);
        const refused = await call(echo, "Echo", { text: "x" }, ch.pay(3n * price));
        expect(refused.status).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `not enough tokens on payment channel, channel amount: ${2n * price}, payment amount: ${3n * price}`,
        });

        await fundClient(world.deployment, ch.client.privateKey, 3n * price);
        await addFunds(world.deployment, ch.client.privateKey, ch.id, 3n * price);
        const before = world.echo.calls;
        const accepted = await call(echo, "Echo", { text: "topped up" }, ch.pay(3n * price));
        expect(accepted.status.code).toBe(grpc.status.OK);
        expect(world.echo.calls).toBe(before + 1);
        expect((await snetd.state(ch)).amount).toBe(3n * price);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "an extension on-chain lifts the near-expiry refusal without a restart",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        // Inside the threshold at any head from now on (funding and opening only add blocks).
        const ch = await world.openFundedChannel({ expiration: (await world.head()) + world.expirationThreshold });
        const refused = await call(echo, "Echo", { text: "x" }, ch.pay(world.price));
        expect(refused.status.code).toBe(grpc.status.UNAUTHENTICATED);
        expect(refused.status.details).toStartWith(
          `payment channel is near to be expired, expiration time: ${ch.expiration}, current block: `,
        );

        await extendChannel(
          world.deployment,
          ch.client.privateKey,
          ch.id,
          (await world.head()) + world.expirationThreshold + 1000n,
        );
        const accepted = await call(echo, "Echo", { text: "extended" }, ch.pay(world.price));
        expect(accepted.status.code).toBe(grpc.status.OK);
        expect((await snetd.state(ch)).amount).toBe(world.price);
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("accepted payments are money", () => {
  test(
    "the provider claims the last signature on-chain and receives exactly the authorised amount",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const price = world.price;
        const ch = await world.openFundedChannel({ value: 10n * price });
        for (let i = 1n; i <= 3n; i++) {
          const state = await snetd.state(ch);
          expect(
            (await call(echo, "Echo", { text: `paid ${i}` }, ch.pay(state.amount + price, state.nonce))).status.code,
          ).toBe(grpc.status.OK);
        }
        const state = await snetd.state(ch);
        expect(state.amount).toBe(3n * price);

        const balanceBefore = await mpeBalance(world.deployment, PROVIDER.address);
        const receipt = await claimOnChain(world.deployment, PROVIDER.privateKey, {
          channelId: ch.id,
          amount: state.amount,
          signature: state.signature,
        });
        expect(receipt.status).toBe("success");
        expect((await mpeBalance(world.deployment, PROVIDER.address)) - balanceBefore).toBe(3n * price);
        const onChain = await channelOnChain(world.deployment, ch.id);
        expect(onChain.nonce).toBe(1n);
        expect(onChain.value).toBe(7n * price);

        // Claimed without StartClaim: once the daemon sees the ChannelClaim event (it polls the MPE logs),
        // the old nonce is dead — a payment signed at it could never be claimed — and the state a
        // stateless client reads moves to the new nonce, counting from zero.
        let claimed = await snetd.state(ch);
        for (let i = 0; i < 100 && claimed.nonce !== 1n; i++) {
          await Bun.sleep(100);
          claimed = await snetd.state(ch);
        }
        const stale = await call(echo, "Echo", { text: "old nonce" }, ch.pay(4n * price, 0n));
        expect(stale.status.code).toBe(1000 as grpc.status);
        expect(claimed.nonce).toBe(1n);
        expect(claimed.amount).toBe(0n);
        expect(claimed.signature).toHaveLength(0);
        const fresh = await call(echo, "Echo", { text: "new nonce" }, ch.pay(price, 1n));
        expect(fresh.status.code).toBe(grpc.status.OK);
        const after = await snetd.state(ch);
        expect(after.nonce).toBe(1n);
        expect(after.amount).toBe(price);
      });
    },
    E2E_TIMEOUT_MS,
  );
});
