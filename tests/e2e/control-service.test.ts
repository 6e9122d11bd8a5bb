// escrow.ProviderControlService through dist/snetd (protocol/services.md#provider-control,
// protocol/payments.md#claims): what the treasurer sees, who may ask, and what StartClaim does to the channel and to
// the clients paying on it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { getAddress, type Hex } from "viem";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { bigintToBytes, bigintToMinimalBytes, bytesToBigint, concatBytes, hexToBytes } from "../../src/core/numbers.ts";
import {
  addressBytes,
  listInProgressMessage,
  listUnclaimedMessage,
  multiClaimMessage,
  personalDigest,
  startClaimMessage,
} from "../../src/core/signatures.ts";
import {
  GetPaymentsListRequestSchema,
  PaymentReplySchema,
  PaymentsListReplySchema,
  StartClaimRequestSchema,
  StartMultipleClaimRequestSchema,
} from "../../src/gen/control_service_pb.ts";
import { claimOnChain, mpeBalance, signPayment } from "../kit/client.ts";
import { CLIENTS, PROVIDER } from "../kit/contracts.ts";
import type { DaemonProcess } from "../kit/daemon.ts";
import { daemonRpc } from "../kit/daemon-client.ts";
import { call } from "../kit/echo-service.ts";
import { channelStateReply, decodeState, type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { type Channel, startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 60_000;
const EXPIRED = "authentication failed as the signature passed has expired";
const CTL = "/escrow.ProviderControlService";

let world: World;
let snetd: PaidDaemon;
let daemon: DaemonProcess;
let echo: grpc.Client;
let rpcs: ReturnType<typeof clients>;

const clients = (endpoint: string) => ({
  unclaimed: daemonRpc(endpoint, `${CTL}/GetListUnclaimed`, GetPaymentsListRequestSchema, PaymentsListReplySchema),
  inProgress: daemonRpc(endpoint, `${CTL}/GetListInProgress`, GetPaymentsListRequestSchema, PaymentsListReplySchema),
  start: daemonRpc(endpoint, `${CTL}/StartClaim`, StartClaimRequestSchema, PaymentReplySchema),
  startMany: daemonRpc(
    endpoint,
    `${CTL}/StartClaimForMultipleChannels`,
    StartMultipleClaimRequestSchema,
    PaymentsListReplySchema,
  ),
});

beforeAll(async () => {
  world = await startWorld();
  // The ±5 block window is checked against the real head: no block cache.
  snetd = await startPaidDaemon(world);
  ({ daemon, echo } = snetd);
  rpcs = clients(daemon.endpoint);
}, 120_000);

afterAll(async () => {
  if (rpcs) for (const c of Object.values(rpcs)) c.close();
  await snetd?.stop();
  await world?.stop();
});

const sign = (key: Hex, message: Uint8Array) => signDigest(hexToBytes(key), personalDigest(message));
const mpe = () => world.deployment.mpe;

interface ListQuery {
  key?: Hex;
  block?: bigint;
  mpeAddress?: string;
}

async function listUnclaimed(q: ListQuery = {}) {
  const block = q.block ?? (await world.head());
  return rpcs.unclaimed.call({
    mpeAddress: q.mpeAddress ?? mpe(),
    currentBlock: block,
    signature: sign(q.key ?? PROVIDER.privateKey, listUnclaimedMessage(mpe(), block)),
  });
}

async function listInProgress(q: ListQuery = {}) {
  const block = q.block ?? (await world.head());
  return rpcs.inProgress.call({
    mpeAddress: q.mpeAddress ?? mpe(),
    currentBlock: block,
    signature: sign(q.key ?? PROVIDER.privateKey, listInProgressMessage(mpe(), block)),
  });
}

function startClaim(id: bigint, nonce: bigint, q: { key?: Hex; mpeAddress?: string } = {}) {
  return rpcs.start.call({
    mpeAddress: q.mpeAddress ?? mpe(),
    channelId: bigintToMinimalBytes(id),
    signature: sign(q.key ?? PROVIDER.privateKey, startClaimMessage(mpe(), id, nonce)),
  });
}

async function startMany(ids: bigint[], q: { key?: Hex; block?: bigint; unsortedSignature?: boolean } = {}) {
  const block = q.block ?? (await world.head());
  // protocol/signatures.md#multi-claim packed by hand, ids in the order sent, to show the daemon insists on sorting.
  const unsorted = concatBytes(
    new TextEncoder().encode("__StartClaimForMultipleChannels_"),
    addressBytes(mpe()),
    ...ids.map((id) => bigintToBytes(id)),
    bigintToBytes(block),
  );
  return rpcs.startMany.call({
    mpeAddress: mpe(),
    channelIds: ids,
    currentBlock: block,
    signature: sign(
      q.key ?? PROVIDER.privateKey,
      q.unsortedSignature ? unsorted : multiClaimMessage(mpe(), ids, block),
    ),
  });
}

/** The channel's state, with the payment StartClaim moved to the old nonce (protocol/payments.md#old-nonce). */
async function channelState(ch: Channel) {
  const s = await channelStateReply(world, snetd.stateRpc, ch);
  return {
    ...decodeState(s),
    oldAmount: s.oldNonceSignedAmount.length ? bytesToBigint(s.oldNonceSignedAmount) : undefined,
    oldSignature: s.oldNonceSignature,
  };
}

/** A channel with `calls` paid calls at nonce 0; returns it with the last (accepted) signature. */
async function paidChannel(calls: number): Promise<Channel> {
  const ch = await world.openFundedChannel();
  for (let i = 1; i <= calls; i++) {
    const r = await call(echo, "Echo", { text: "paid" }, ch.pay(BigInt(i) * world.price));
    expect(r.status.code).toBe(grpc.status.OK);
  }
  return ch;
}

const lastSignature = (ch: Channel, amount: bigint, nonce = 0n) =>
  signPayment(ch.client.privateKey, world.deployment.mpe, ch.id, nonce, amount);
const entryOf = <T extends { channelId: Uint8Array }>(list: T[], id: bigint) =>
  list.filter((p) => bytesToBigint(p.channelId) === id);

describe("lists", () => {
  test(
    "GetListUnclaimed lists every channel with an authorised amount, with nonce and expiry and no signature",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const a = await paidChannel(1);
        const b = await paidChannel(3);
        const r = await listUnclaimed();
        expect(r.status).toEqual({ code: 0, details: "" });
        const list = r.reply!.payments;
        for (const [ch, amount] of [
          [a, world.price],
          [b, 3n * world.price],
        ] as const) {
          const [entry, ...more] = entryOf(list, ch.id);
          expect(more).toHaveLength(0);
          expect(bytesToBigint(entry!.channelNonce)).toBe(0n);
          expect(bytesToBigint(entry!.signedAmount)).toBe(amount);
          expect(bytesToBigint(entry!.channelExpiry)).toBe(ch.expiration);
        }
        // snet-cli rejects an unclaimed list carrying signatures (protocol/services.md#provider-control).
        for (const p of list) {
          expect(p.signature).toHaveLength(0);
          expect(bytesToBigint(p.signedAmount)).toBeGreaterThan(0n);
        }
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "the mpe_address is compared as an address: lower case is accepted, another address refused",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        expect((await listUnclaimed({ mpeAddress: mpe().toLowerCase() })).status.code).toBe(0);
        const other = getAddress(world.deployment.registry);
        for (const r of [await listUnclaimed({ mpeAddress: other }), await listInProgress({ mpeAddress: other })]) {
          expect(r.status).toEqual({
            code: grpc.status.INVALID_ARGUMENT,
            details: `the mpeAddress: ${other} passed does not match to what has been registered`,
          });
        }
        const a = await paidChannel(1);
        expect((await startClaim(a.id, 0n, { mpeAddress: other })).status).toEqual({
          code: grpc.status.INVALID_ARGUMENT,
          details: `the mpeAddress: ${other} passed does not match to what has been registered`,
        });
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("who may ask, and when", () => {
  const client = CLIENTS[0]!;
  const denied = {
    code: grpc.status.PERMISSION_DENIED,
    details: `the address: ${client.address} does not match to what has been expected / registered`,
  };

  test(
    "a client's key is refused on every control method",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const a = await paidChannel(1);
        expect((await listUnclaimed({ key: client.privateKey })).status).toEqual(denied);
        expect((await listInProgress({ key: client.privateKey })).status).toEqual(denied);
        expect((await startClaim(a.id, 0n, { key: client.privateKey })).status).toEqual(denied);
        expect((await startMany([a.id], { key: client.privateKey })).status).toEqual(denied);
        // Nothing started: the payment is still unclaimed.
        expect(entryOf((await listUnclaimed()).reply!.payments, a.id)).toHaveLength(1);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a block more than 5 away from the head is refused as expired; 5 away is accepted",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const head = await world.head();
        for (const block of [head - 6n, head + 6n]) {
          expect((await listUnclaimed({ block })).status).toEqual({
            code: grpc.status.UNAUTHENTICATED,
            details: EXPIRED,
          });
          expect((await listInProgress({ block })).status).toEqual({
            code: grpc.status.UNAUTHENTICATED,
            details: EXPIRED,
          });
          expect((await startMany([1n], { block })).status).toEqual({
            code: grpc.status.UNAUTHENTICATED,
            details: EXPIRED,
          });
        }
        // No transaction runs in this file while the daemon answers, so the head stays put.
        expect(await world.head()).toBe(head);
        for (const block of [head - 5n, head + 5n]) {
          expect((await listUnclaimed({ block })).status.code).toBe(0);
          expect((await listInProgress({ block })).status.code).toBe(0);
        }
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "unknown channel is NOT_FOUND; a channel with nothing authorised is FAILED_PRECONDITION",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const unknown = 987_654n;
        const notFound = {
          code: grpc.status.NOT_FOUND,
          details: `channel Id ${unknown} was not found on blockchain or storage`,
        };
        expect((await startClaim(unknown, 0n)).status).toEqual(notFound);
        expect((await startMany([unknown])).status).toEqual(notFound);

        const a = await paidChannel(1);
        expect((await startClaim(a.id, 0n)).status.code).toBe(0);
        // Now at nonce 1 with nothing authorised.
        expect((await startClaim(a.id, 1n)).status).toEqual({
          code: grpc.status.FAILED_PRECONDITION,
          details: `authorized amount is zero , hence nothing to claim on the channel Id: ${a.id}`,
        });
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("StartClaim", () => {
  test(
    "returns the last client signature, bumps the nonce, and reports the old payment until the claim is mined",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await paidChannel(2);
        const amount = 2n * world.price;
        const signature = lastSignature(ch, amount);

        // The signature covers the daemon's nonce: signing another nonce recovers someone else.
        const wrongNonce = await startClaim(ch.id, 1n);
        expect(wrongNonce.status.code).toBe(grpc.status.PERMISSION_DENIED);
        expect(wrongNonce.status.details).toMatch(
          /^the address: 0x[0-9a-fA-F]{40} does not match to what has been expected \/ registered$/,
        );

        const started = await startClaim(ch.id, 0n);
        expect(started.status).toEqual({ code: 0, details: "" });
        const p = started.reply!;
        expect(bytesToBigint(p.channelId)).toBe(ch.id);
        expect(bytesToBigint(p.channelNonce)).toBe(0n);
        expect(bytesToBigint(p.signedAmount)).toBe(amount);
        expect(p.signature).toHaveLength(65);
        expect(Buffer.from(p.signature).equals(Buffer.from(signature))).toBe(true);

        // In progress, with its signature and the channel's expiry; no longer unclaimed.
        const listed = entryOf((await listInProgress()).reply!.payments, ch.id);
        expect(listed).toHaveLength(1);
        expect(bytesToBigint(listed[0]!.channelNonce)).toBe(0n);
        expect(bytesToBigint(listed[0]!.signedAmount)).toBe(amount);
        expect(Buffer.from(listed[0]!.signature).equals(Buffer.from(signature))).toBe(true);
        expect(bytesToBigint(listed[0]!.channelExpiry)).toBe(ch.expiration);
        expect(entryOf((await listUnclaimed()).reply!.payments, ch.id)).toHaveLength(0);

        // Stateless clients see the new nonce and the claimed payment as the old one.
        let state = await channelState(ch);
        expect(state).toMatchObject({ nonce: 1n, amount: 0n, oldAmount: amount });
        expect(state.signature).toHaveLength(0);
        expect(Buffer.from(state.oldSignature).equals(Buffer.from(signature))).toBe(true);

        // A client still on nonce 0 gets code 1000, reads the state and carries on at nonce 1 from 0.
        const stale = await call(echo, "Echo", { text: "old nonce" }, ch.pay(3n * world.price, 0n));
        expect(stale.status).toMatchObject({
          code: 1000,
          details: "incorrect payment channel nonce, latest: 1, sent: 0",
        });
        expect((await call(echo, "Echo", { text: "new nonce" }, ch.pay(world.price, state.nonce))).status.code).toBe(
          grpc.status.OK,
        );
        expect(
          (await call(echo, "Echo", { text: "new nonce" }, ch.pay(2n * world.price, state.nonce))).status.code,
        ).toBe(grpc.status.OK);
        state = await channelState(ch);
        expect(state).toMatchObject({ nonce: 1n, amount: 2n * world.price, oldAmount: amount });

        // The treasurer mines the claim: old fields disappear, the in-progress entry is dropped.
        const before = await mpeBalance(world.deployment, PROVIDER.address);
        await claimOnChain(world.deployment, PROVIDER.privateKey, {
          channelId: ch.id,
          amount: bytesToBigint(p.signedAmount),
          signature: p.signature,
        });
        expect(await mpeBalance(world.deployment, PROVIDER.address)).toBe(before + amount);
        state = await channelState(ch);
        expect(state).toMatchObject({ nonce: 1n, amount: 2n * world.price, oldAmount: undefined });
        expect(state.oldSignature).toHaveLength(0);
        expect(entryOf((await listInProgress()).reply!.payments, ch.id)).toHaveLength(0);
        // The payments at nonce 1 are the next thing to claim.
        const next = entryOf((await listUnclaimed()).reply!.payments, ch.id);
        expect(next.map((e) => [bytesToBigint(e.channelNonce), bytesToBigint(e.signedAmount)])).toEqual([
          [1n, 2n * world.price],
        ]);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "StartClaimForMultipleChannels: ids sent unsorted, signature over the sorted list, replies in request order",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const low = await paidChannel(1);
        const high = await paidChannel(2);
        const unsorted = [high.id, low.id];
        expect(high.id).toBeGreaterThan(low.id);

        // A signature over the ids as sent (unsorted) is not the treasurer's.
        const wrong = await startMany(unsorted, { unsortedSignature: true });
        expect(wrong.status.code).toBe(grpc.status.PERMISSION_DENIED);
        expect(entryOf((await listUnclaimed()).reply!.payments, low.id)).toHaveLength(1);

        // multiClaimMessage sorts a copy, which is what the daemon must verify against.
        const r = await startMany(unsorted);
        expect(r.status).toEqual({ code: 0, details: "" });
        expect(
          r.reply!.payments.map((p) => [
            bytesToBigint(p.channelId),
            bytesToBigint(p.channelNonce),
            bytesToBigint(p.signedAmount),
          ]),
        ).toEqual([
          [high.id, 0n, 2n * world.price],
          [low.id, 0n, world.price],
        ]);
        expect(
          Buffer.from(r.reply!.payments[0]!.signature).equals(Buffer.from(lastSignature(high, 2n * world.price))),
        ).toBe(true);
        expect(Buffer.from(r.reply!.payments[1]!.signature).equals(Buffer.from(lastSignature(low, world.price)))).toBe(
          true,
        );
        for (const ch of [low, high]) expect((await channelState(ch)).nonce).toBe(1n);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "StartClaimForMultipleChannels with one channel that has nothing to claim starts none of them",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const paid = await paidChannel(1);
        const empty = await paidChannel(1);
        expect((await startClaim(empty.id, 0n)).status.code).toBe(0);
        const r = await startMany([paid.id, empty.id]);
        expect(r.status).toEqual({
          code: grpc.status.FAILED_PRECONDITION,
          details: `authorized amount is zero , hence nothing to claim on the channel Id: ${empty.id}`,
        });
        expect(entryOf((await listUnclaimed()).reply!.payments, paid.id)).toHaveLength(1);
        expect((await channelState(paid)).nonce).toBe(0n);
      });
    },
    E2E_TIMEOUT_MS,
  );
});
