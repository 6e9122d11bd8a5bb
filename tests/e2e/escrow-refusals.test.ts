// Every refusal of an escrow payment (protocol/errors.md#payment-refusals) through dist/snetd, with its
// exact code and message, and proof that a refused call neither reaches the service nor moves the channel:
// after each refusal the service's call counter is unchanged and the channel still accepts its first price.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import type { Hex } from "viem";
import { mine } from "../kit/anvil.ts";
import { fundClient, openChannel, paymentMetadata, signPayment } from "../kit/client.ts";
import { CLIENTS, PROVIDER, type TestAccount } from "../kit/contracts.ts";
import type { DaemonProcess } from "../kit/daemon.ts";
import { call } from "../kit/echo-service.ts";
import { type ChannelRef, type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { type Channel, startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 60_000;

let world: World;
let snetd: PaidDaemon;
let daemon: DaemonProcess;
let echo: grpc.Client;

beforeAll(async () => {
  world = await startWorld();
  snetd = await startPaidDaemon(world);
  ({ daemon, echo } = snetd);
}, 120_000);

afterAll(async () => {
  await snetd?.stop();
  await world?.stop();
});

const authorised = async (ch: ChannelRef): Promise<bigint> => (await snetd.state(ch)).amount;

/** Sends an Echo and checks the service never saw it. */
async function refusedEcho(metadata: Parameters<typeof call>[3]): Promise<{ code: number; details: string }> {
  const before = world.echo.calls;
  const r = await call(echo, "Echo", { text: "should not arrive" }, metadata);
  expect(world.echo.calls).toBe(before);
  return r.status;
}

async function paid(metadata: Parameters<typeof call>[3]): Promise<void> {
  const before = world.echo.calls;
  const r = await call(echo, "Echo", { text: "paid" }, metadata);
  expect(r.status).toEqual({ code: grpc.status.OK, details: "OK" });
  expect(world.echo.calls).toBe(before + 1);
}

/** After refusals the channel is untouched: nothing authorised, and the first price is accepted. */
async function expectUntouched(ch: Channel): Promise<void> {
  expect(await authorised(ch)).toBe(0n);
  await paid(ch.pay(world.price));
  expect(await authorised(ch)).toBe(world.price);
}

const headerless = (md: Record<string, string | Buffer>, key: string) =>
  Object.fromEntries(Object.entries(md).filter(([k]) => k !== key));
const otherClient = (ch: Channel) => CLIENTS.find((c) => c.address !== ch.client.address) as TestAccount;
const withV = (signature: Uint8Array, v: number) => {
  const out = Uint8Array.from(signature);
  out[64] = v;
  return out;
};

describe("signatures", () => {
  test(
    "a payment signed by a key that is neither sender nor signer is refused",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const stranger = otherClient(ch);
        const signature = signPayment(stranger.privateKey, world.deployment.mpe, ch.id, 0n, world.price);
        expect(
          await refusedEcho(paymentMetadata({ channelId: ch.id, nonce: 0n, amount: world.price, signature })),
        ).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: "payment is not signed by channel signer/sender",
        });
        await expectUntouched(ch);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a channel with a separate signer key accepts payments from the signer and from the sender",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const [sender, signer] = [CLIENTS[0] as TestAccount, CLIENTS[1] as TestAccount];
        await fundClient(world.deployment, sender.privateKey, 1000n);
        const id = await openChannel(world.deployment, {
          clientKey: sender.privateKey,
          signer: signer.address,
          recipient: PROVIDER.address,
          groupIdBytes: world.group.bytes,
          value: 1000n,
          expiration: (await world.head()) + world.expirationThreshold + 1000n,
        });
        const pay = (key: Hex, amount: bigint) =>
          paymentMetadata({
            channelId: id,
            nonce: 0n,
            amount,
            signature: signPayment(key, world.deployment.mpe, id, 0n, amount),
          });

        const bySigner = await call(echo, "Echo", { text: "signer" }, pay(signer.privateKey, world.price));
        expect(bySigner.status.code).toBe(grpc.status.OK);
        // The service is told who pays: the sender, whoever signed.
        expect(bySigner.headers["echo-snet-user-address"]).toBe(sender.address);
        const bySender = await call(echo, "Echo", { text: "sender" }, pay(sender.privateKey, 2n * world.price));
        expect(bySender.status.code).toBe(grpc.status.OK);
        expect(await authorised({ id, client: signer })).toBe(2n * world.price);
        // The signer may also read the state; a third key still may not pay.
        const third = CLIENTS[2] as TestAccount;
        expect(await refusedEcho(pay(third.privateKey, 3n * world.price))).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: "payment is not signed by channel signer/sender",
        });
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a 64-byte signature is not a valid payment signature",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const md = ch.pay(world.price);
        const short = (md["snet-payment-channel-signature-bin"] as Buffer).subarray(0, 64);
        expect(await refusedEcho({ ...md, "snet-payment-channel-signature-bin": short })).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: "payment signature is not valid",
        });
        await expectUntouched(ch);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "v is accepted as 0/1 and as 27/28",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const seen = new Set<number>();
        for (let i = 1n; i <= 4n; i++) {
          const amount = i * world.price;
          const signature = signPayment(ch.client.privateKey, world.deployment.mpe, ch.id, 0n, amount);
          const v27 = signature[64] as number;
          expect([27, 28]).toContain(v27);
          // Odd calls carry the raw recovery id, even ones the Ethereum form.
          const v = i % 2n === 1n ? v27 - 27 : v27;
          seen.add(v);
          await paid(paymentMetadata({ channelId: ch.id, nonce: 0n, amount, signature: withV(signature, v) }));
        }
        expect([...seen].some((v) => v < 2)).toBe(true);
        expect([...seen].some((v) => v >= 27)).toBe(true);
        expect(await authorised(ch)).toBe(4n * world.price);
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("amounts and nonces", () => {
  test(
    "over- and under-payment are refused with the income and the price",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const price = world.price;
        const ch = await world.openFundedChannel();
        expect(await refusedEcho(ch.pay(price + 1n))).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `income ${price + 1n} does not equal to price ${price}`,
        });
        expect(await refusedEcho(ch.pay(price - 1n))).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `income ${price - 1n} does not equal to price ${price}`,
        });
        expect(await refusedEcho(ch.pay(0n))).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `income 0 does not equal to price ${price}`,
        });
        await expectUntouched(ch);
        // Income is counted from the authorised amount, not from zero.
        expect(await refusedEcho(ch.pay(3n * price))).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `income ${2n * price} does not equal to price ${price}`,
        });
        expect(await refusedEcho(ch.pay(price + price / 2n))).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `income ${price / 2n} does not equal to price ${price}`,
        });
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "replaying an accepted signature is refused: its income is 0",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const md = ch.pay(world.price);
        await paid(md);
        expect(await refusedEcho(md)).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `income 0 does not equal to price ${world.price}`,
        });
        expect(await authorised(ch)).toBe(world.price);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a payment for a nonce the channel does not have gets code 1000",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        expect(await refusedEcho(ch.pay(world.price, 1n))).toEqual({
          code: 1000,
          details: "incorrect payment channel nonce, latest: 0, sent: 1",
        });
        await expectUntouched(ch);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a channel inside the expiration threshold is refused once the chain gets there",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const client = CLIENTS[3] as TestAccount;
        await fundClient(world.deployment, client.privateKey, 1000n);
        // The open transaction mines one block: expiration = head after opening + threshold + 3.
        const expiration = (await world.head()) + 1n + world.expirationThreshold + 3n;
        const id = await openChannel(world.deployment, {
          clientKey: client.privateKey,
          recipient: PROVIDER.address,
          groupIdBytes: world.group.bytes,
          value: 1000n,
          expiration,
        });
        const pay = (amount: bigint) =>
          paymentMetadata({
            channelId: id,
            nonce: 0n,
            amount,
            signature: signPayment(client.privateKey, world.deployment.mpe, id, 0n, amount),
          });
        expect(await world.head()).toBe(expiration - world.expirationThreshold - 3n);
        await paid(pay(world.price));

        await mine(world.anvil.rpcUrl, 3n);
        const head = await world.head();
        expect(await refusedEcho(pay(2n * world.price))).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `payment channel is near to be expired, expiration time: ${expiration}, current block: ${head}, expiration threshold: ${world.expirationThreshold}`,
        });
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("channels that are not ours", () => {
  test(
    "an unknown channel id is not found",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const client = CLIENTS[0] as TestAccount;
        const signature = signPayment(client.privateKey, world.deployment.mpe, 999n, 0n, world.price);
        expect(
          await refusedEcho(paymentMetadata({ channelId: 999n, nonce: 0n, amount: world.price, signature })),
        ).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: 'payment channel "{ID: 999}" not found',
        });
      });
    },
    E2E_TIMEOUT_MS,
  );

  const openForeign = async (opts: { groupIdBytes?: Uint8Array; recipient?: Hex }) => {
    const client = CLIENTS[4] as TestAccount;
    await fundClient(world.deployment, client.privateKey, 1000n);
    const id = await openChannel(world.deployment, {
      clientKey: client.privateKey,
      recipient: opts.recipient ?? PROVIDER.address,
      groupIdBytes: opts.groupIdBytes ?? world.group.bytes,
      value: 1000n,
      expiration: (await world.head()) + world.expirationThreshold + 1000n,
    });
    return paymentMetadata({
      channelId: id,
      nonce: 0n,
      amount: world.price,
      signature: signPayment(client.privateKey, world.deployment.mpe, id, 0n, world.price),
    });
  };

  test(
    "a channel of another group is a payment channel error",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const otherGroup = Uint8Array.from(world.group.bytes, (b) => b ^ 0xff);
        const status = await refusedEcho(await openForeign({ groupIdBytes: otherGroup }));
        expect(status.code).toBe(grpc.status.INTERNAL);
        expect(status.details).toStartWith("payment channel error: ");
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a channel paying another recipient is a payment channel error",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const status = await refusedEcho(await openForeign({ recipient: (CLIENTS[5] as TestAccount).address }));
        expect(status.code).toBe(grpc.status.INTERNAL);
        expect(status.details).toStartWith("payment channel error: ");
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("malformed payment metadata", () => {
  test("no payment headers at all: the channel id is missing", async () => {
    // grpc-js always sends user-agent, so "missing metadata" cannot be produced by this client.
    expect(await refusedEcho({})).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'missing "snet-payment-channel-id"',
    });
  });

  test(
    "each missing escrow header is named",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const md = ch.pay(world.price);
        for (const key of [
          "snet-payment-channel-id",
          "snet-payment-channel-nonce",
          "snet-payment-channel-amount",
          "snet-payment-channel-signature-bin",
        ]) {
          expect(await refusedEcho(headerless(md, key))).toEqual({
            code: grpc.status.INVALID_ARGUMENT,
            details: `missing "${key}"`,
          });
        }
        // Without a type the payment is escrow (protocol/headers.md#payment-metadata).
        await paid(headerless(md, "snet-payment-type"));
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a repeated header is refused with all its values",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const md = ch.pay(world.price);
        const amount = String(world.price);
        expect(await refusedEcho({ ...md, "snet-payment-channel-amount": [amount, amount] })).toEqual({
          code: grpc.status.INVALID_ARGUMENT,
          details: `too many values for key "snet-payment-channel-amount": [${amount} ${amount}]`,
        });
        await expectUntouched(ch);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "amounts that are not canonical decimals are refused",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const md = ch.pay(world.price);
        for (const bad of ["0x10", "-1", "01", "", "0100", "1e2", "100.0"]) {
          expect(await refusedEcho({ ...md, "snet-payment-channel-amount": bad })).toEqual({
            code: grpc.status.INVALID_ARGUMENT,
            details: `incorrect format "snet-payment-channel-amount": "${bad}"`,
          });
        }
        await expectUntouched(ch);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "an unknown payment type is refused",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        expect(await refusedEcho({ ...ch.pay(world.price), "snet-payment-type": "bogus" })).toEqual({
          code: grpc.status.INVALID_ARGUMENT,
          details: 'unexpected "snet-payment-type", value: "bogus"',
        });
      });
    },
    E2E_TIMEOUT_MS,
  );
});
