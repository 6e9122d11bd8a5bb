// escrow.PaymentChannelStateService/GetChannelState through dist/snetd
// (protocol/services.md#channel-state, protocol/signatures.md#channel-state): who
// may read a channel, how fresh the signed block must be, how ids are encoded.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import type { Hex } from "viem";
import { bigintToBytes, bytesToBigint } from "../../src/core/numbers.ts";
import { mine } from "../kit/anvil.ts";
import { signChannelStateRequest } from "../kit/client.ts";
import { CLIENTS, PROVIDER, type TestAccount } from "../kit/contracts.ts";
import { type DaemonProcess, startDaemon } from "../kit/daemon.ts";
import { call } from "../kit/echo-service.ts";
import {
  type ChannelRef,
  type PaidDaemon,
  type StateRpc,
  startPaidDaemon,
  stateRequest,
  stateRpc,
} from "../kit/paid-daemon.ts";
import { type Channel, startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 60_000;
const EXPIRED = "authentication failed as the signature passed has expired";

let world: World;
let snetd: PaidDaemon;
let daemon: DaemonProcess;
let echo: grpc.Client;

beforeAll(async () => {
  world = await startWorld();
  // The ±5 block window is checked against the real head (anvil mines many blocks per 100 ms).
  snetd = await startPaidDaemon(world);
  ({ daemon, echo } = snetd);
}, 120_000);

afterAll(async () => {
  await snetd?.stop();
  await world?.stop();
});

interface StateQuery {
  /** Key that signs the request; the channel's client by default. */
  key?: Hex;
  /** Block signed and sent; the head by default. */
  block?: bigint;
  /** Encoding of the id in the request; minimal bytes by default. */
  idBytes?: Uint8Array;
  /** Replaces the signature (malformed-signature tests). */
  signature?: Uint8Array;
}

async function queryState(ch: ChannelRef, q: StateQuery = {}, rpc: StateRpc = snetd.stateRpc) {
  const request = stateRequest(world, ch, q.block ?? (await world.head()), q.key);
  return rpc.call({
    ...request,
    channelId: q.idBytes ?? request.channelId,
    signature: q.signature ?? request.signature,
  });
}

/** A channel with two paid calls, so its state has an amount and a signature to compare. */
async function paidChannel(): Promise<{ ch: Channel; signature: Uint8Array }> {
  const ch = await world.openFundedChannel();
  for (const amount of [world.price, 2n * world.price]) {
    expect((await call(echo, "Echo", { text: "paid" }, ch.pay(amount))).status.code).toBe(grpc.status.OK);
  }
  // Signatures are deterministic (RFC 6979): signing again gives the bytes the daemon accepted.
  return { ch, signature: Uint8Array.from(ch.pay(2n * world.price)["snet-payment-channel-signature-bin"] as Buffer) };
}

describe("what the state says", () => {
  test(
    "a fresh channel has nonce 0 and nothing signed; a paid one returns the last amount and signature",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const fresh = await queryState(ch);
        expect(fresh.status.code).toBe(grpc.status.OK);
        expect(fresh.reply!.currentNonce).toEqual(bigintToBytes(0n));
        expect(fresh.reply!.currentSignedAmount).toHaveLength(0);
        expect(fresh.reply!.currentSignature).toHaveLength(0);
        expect(fresh.reply!.oldNonceSignedAmount).toHaveLength(0);

        let last: Uint8Array | undefined;
        for (const amount of [world.price, 2n * world.price]) {
          const md = ch.pay(amount);
          expect((await call(echo, "Echo", { text: "paid" }, md)).status.code).toBe(grpc.status.OK);
          last = Uint8Array.from(md["snet-payment-channel-signature-bin"] as Buffer);
        }
        const paid = await queryState(ch);
        expect(paid.status.code).toBe(grpc.status.OK);
        // Numbers in replies are 32-byte big-endian, as the reference emits (protocol/headers.md#numbers).
        expect(paid.reply!.currentNonce).toEqual(bigintToBytes(0n));
        expect(paid.reply!.currentSignedAmount).toEqual(bigintToBytes(2n * world.price));
        expect(Buffer.from(paid.reply!.currentSignature).equals(Buffer.from(last!))).toBe(true);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "the channel id may be sent as 1, 4 or 32 bytes",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const { ch, signature } = await paidChannel();
        expect(ch.id).toBeLessThan(256n);
        for (const length of [1, 4, 32]) {
          const r = await queryState(ch, { idBytes: bigintToBytes(ch.id, length) });
          expect(r.status.code).toBe(grpc.status.OK);
          expect(bytesToBigint(r.reply!.currentSignedAmount)).toBe(2n * world.price);
          expect(Buffer.from(r.reply!.currentSignature).equals(Buffer.from(signature))).toBe(true);
        }
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("who may read it", () => {
  test(
    "the provider (the channel's recipient) reads the same state as the client",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const { ch, signature } = await paidChannel();
        const r = await queryState(ch, { key: PROVIDER.privateKey });
        expect(r.status.code).toBe(grpc.status.OK);
        expect(bytesToBigint(r.reply!.currentSignedAmount)).toBe(2n * world.price);
        expect(Buffer.from(r.reply!.currentSignature).equals(Buffer.from(signature))).toBe(true);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a key that is not sender, signer or recipient is denied",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const stranger = CLIENTS.find((c) => c.address !== ch.client.address) as TestAccount;
        const r = await queryState(ch, { key: stranger.privateKey });
        expect(r.status).toEqual({
          code: grpc.status.PERMISSION_DENIED,
          details: "only channel signer/sender/receiver can get latest channel state",
        });
        expect(r.reply).toBeUndefined();
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a 64-byte signature is refused as malformed",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const head = await world.head();
        const signature = signChannelStateRequest(ch.client.privateKey, world.deployment.mpe, ch.id, head).subarray(
          0,
          64,
        );
        const r = await queryState(ch, { block: head, signature });
        expect(r.status).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: "incorrect signature length" });
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "an unknown channel is not found",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const r = await queryState({ id: 999n, client: CLIENTS[0] as TestAccount });
        expect(r.status).toEqual({ code: grpc.status.NOT_FOUND, details: "channel is not found, channelId: 999" });
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("how fresh the signed block must be", () => {
  test(
    "5 blocks either side of the head are accepted, 6 are expired",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        // Room below the head for the "behind" cases.
        await mine(world.anvil.rpcUrl, 10n);
        const head = await world.head();
        for (const block of [head - 5n, head + 5n])
          expect((await queryState(ch, { block })).status.code).toBe(grpc.status.OK);
        for (const block of [head - 6n, head + 6n]) {
          expect((await queryState(ch, { block })).status).toEqual({
            code: grpc.status.UNAUTHENTICATED,
            details: EXPIRED,
          });
        }
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a daemon whose cached head lags the chain asks the chain before calling a request expired",
    async () => {
      const ch = await world.openFundedChannel();
      // A one-minute cache: after the first request the daemon would not look at the chain again on its own.
      const lagging = await startDaemon({ config: world.daemonConfig({ block_cache_ms: 60_000 }), binary: true });
      const rpc = stateRpc(lagging.endpoint);
      try {
        await lagging.showLogsOnFailure(async () => {
          expect((await queryState(ch, {}, rpc)).status.code).toBe(grpc.status.OK);
          await mine(world.anvil.rpcUrl, 20n);
          expect((await queryState(ch, {}, rpc)).status.code).toBe(grpc.status.OK);
          // Still refused when the client, not the cache, is off.
          const head = await world.head();
          expect((await queryState(ch, { block: head + 6n }, rpc)).status).toEqual({
            code: grpc.status.UNAUTHENTICATED,
            details: EXPIRED,
          });
        });
      } finally {
        rpc.close();
        await lagging.stop();
      }
    },
    E2E_TIMEOUT_MS,
  );
});
