// Escrow admission and settlement (payments/escrow-gate.ts, protocol/payments.md#escrow-settlement) when the
// store fails around the one commit that records the money. Real channel book, real slots, real
// signatures; the store is a real memory store behind faultInjectingStoreMock (etcd cannot be made to
// lose one chosen answer on cue) and the chain is faked (the real one is covered by the e2e suites).
import { describe, expect, test } from "bun:test";
import type { ChainChannel } from "../../src/core/channel.ts";
import { Code, SnetError } from "../../src/core/errors.ts";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { bytesEqual, hexToBytes } from "../../src/core/numbers.ts";
import type { EscrowPayment } from "../../src/core/payment-headers.ts";
import { type Address, claimMessage, personalDigest } from "../../src/core/signatures.ts";
import { nobleRecovery } from "../../src/crypto/native-recovery.ts";
import { background } from "../../src/payments/background.ts";
import { channelBook } from "../../src/payments/channel-book.ts";
import { admitEscrow, type EscrowDeps } from "../../src/payments/escrow-gate.ts";
import { replicaSlots } from "../../src/payments/leased-slots.ts";
import { type ChannelSlots, localSlots } from "../../src/payments/slots.ts";
import type { Store } from "../../src/store/contract.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { decodeChannel, keys as keysOf } from "../../src/store/records.ts";
import vectors from "../vectors/signatures.json" with { type: "json" };
import { type CommitRecord, fakeBlockSource, fakeMpeReader, faultInjectingStoreMock } from "./fault-store.ts";
import { refusal } from "./refusal.ts";

const MPE = vectors.constants.mpe_address.toLowerCase() as Address;
const CLIENT_KEY = hexToBytes(vectors.keys.client.private_key);
const CLIENT = vectors.keys.client.address.toLowerCase() as Address;
const PROVIDER = vectors.keys.provider.address.toLowerCase() as Address;
const GROUP = vectors.constants.group_id_hex as `0x${string}`;
const KEYS = keysOf("/test");
const CHANNEL = 7n;
const PRICE = 10n;
const PATH = "/example_service.Calculator/add";

const chainChannel = (): ChainChannel => ({
  nonce: 0n,
  sender: CLIENT,
  signer: CLIENT,
  recipient: PROVIDER,
  groupId: GROUP,
  value: 1000n,
  expiration: 100_000n,
});

function pay(amount: bigint, nonce = 0n): EscrowPayment {
  const signature = signDigest(CLIENT_KEY, personalDigest(claimMessage(MPE, CHANNEL, nonce, amount)));
  return { type: "escrow", channelId: CHANNEL, nonce, amount, signature };
}

/** One replica: its own channel book and slots over the shared store. */
async function replica(store: Store, slots: "leased" | "local" = "leased", owner = "replica-a"): Promise<EscrowDeps> {
  const mpe = fakeMpeReader(MPE);
  mpe.channels.set(CHANNEL, chainChannel());
  const book = channelBook({ store, keys: KEYS, mpe, groupIdHex: GROUP, paymentAddress: PROVIDER });
  const channelSlots: ChannelSlots =
    slots === "leased"
      ? replicaSlots(store, await store.grantLease(10), owner, KEYS, { handoffWaitMs: 100 })
      : localSlots();
  return {
    mpe: MPE,
    book,
    slots: channelSlots,
    keys: KEYS,
    blocks: fakeBlockSource(100n),
    recovery: nobleRecovery,
    expirationThreshold: 10n,
    price: () => PRICE,
  };
}

async function setup(slots: "leased" | "local" = "leased") {
  const inner = memoryStore();
  const { store, faults } = faultInjectingStoreMock(inner);
  const deps = await replica(store, slots);
  const stored = async () => {
    const e = await inner.get(KEYS.channel(CHANNEL));
    return e ? { ...decodeChannel(e.value), version: e.version } : undefined;
  };
  const slotTaken = async () => (await inner.get(KEYS.slot(CHANNEL))) !== undefined;
  return { inner, store, faults, deps, stored, slotTaken };
}

/** Admits and settles one paid call whose service answered OK; the settle result (undefined: OK). */
async function paidCall(deps: EscrowDeps, payment: EscrowPayment) {
  const admission = await admitEscrow(deps, PATH, payment);
  return admission.settle(true);
}

const channelPuts = (commits: readonly CommitRecord[]) =>
  commits.filter((c) => c.txn.then.some((op) => op.op === "put" && op.key === KEYS.channel(CHANNEL)));

/** Waits until the slot is free again (a background restore has finished), then makes the call. */
async function whenFree(deps: EscrowDeps, payment: EscrowPayment) {
  for (let i = 0; i < 200; i++) {
    try {
      return await paidCall(deps, payment);
    } catch (err) {
      if (!(err instanceof SnetError && err.code === Code.FAILED_PRECONDITION)) throw err;
      await Bun.sleep(10);
    }
  }
  throw new Error("the slot never came free");
}

const NOT_CALLED = "; the service was not called, and the payment is given back if it was stored";

describe("escrow admission on a healthy store", () => {
  test("a paid call is one transaction, made before the service runs: the charge of the amount and signature", async () => {
    const { faults, deps, stored } = await setup("local");
    const payment = pay(10n);
    const admission = await admitEscrow(deps, PATH, payment);
    expect(admission.setHeaders).toEqual({ "snet-user-address": vectors.keys.client.address });
    expect(faults.commits.map((c) => c.outcome)).toEqual(["applied"]);
    const record = await stored();
    expect(record?.authorisedAmount).toBe(10n);
    expect(bytesEqual(record!.signature!, payment.signature)).toBe(true);
    expect(await admission.settle(true)).toBeUndefined();
    expect(faults.commits).toHaveLength(1);
  });

  test("with replica slots the first call takes the slot in its own transaction and keeps it: every later call is one transaction", async () => {
    const { faults, deps, stored, slotTaken } = await setup();
    expect(await paidCall(deps, pay(10n))).toBeUndefined();
    expect(faults.commits).toHaveLength(2);
    // The charge holds only if the slot is still ours, and keeps it.
    expect(faults.commits[1]!.txn.compare).toContainEqual({ key: KEYS.slot(CHANNEL), version: expect.any(BigInt) });
    expect(faults.commits[1]!.txn.then.map((op) => op.key)).toEqual([KEYS.channel(CHANNEL)]);
    expect(await slotTaken()).toBe(true);
    const reads = faults.reads;
    for (const amount of [20n, 30n, 40n]) expect(await paidCall(deps, pay(amount))).toBeUndefined();
    expect(faults.commits).toHaveLength(5);
    expect(faults.reads).toBe(reads);
    expect((await stored())?.authorisedAmount).toBe(40n);
  });

  test("settle(false) gives the amount back, and the same payment pays for the next call", async () => {
    const { faults, deps, stored } = await setup();
    expect(await paidCall(deps, pay(10n))).toBeUndefined();
    const payment = pay(20n);
    const admission = await admitEscrow(deps, PATH, payment);
    expect((await stored())?.authorisedAmount).toBe(20n);
    expect(await admission.settle(false)).toBeUndefined();
    expect(channelPuts(faults.commits).map((c) => c.outcome)).toEqual(["applied", "applied", "applied"]);
    expect((await stored())?.authorisedAmount).toBe(10n);
    expect(await paidCall(deps, payment)).toBeUndefined();
    expect((await stored())?.authorisedAmount).toBe(20n);
  });
});

describe("escrow charges when the store fails", () => {
  test("a charge that failed before applying: refused before the service runs, the record stays uncharged", async () => {
    const { faults, deps, stored } = await setup();
    const first = pay(10n);
    expect(await paidCall(deps, first)).toBeUndefined();
    const payment = pay(20n);
    faults.failCommitsBefore(1);
    const err = await refusal(admitEscrow(deps, PATH, payment));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toStartWith("payment state is unavailable (store channel): injected fault");
    expect(err.message).toEndWith(NOT_CALLED);
    expect(await whenFree(deps, payment)).toBeUndefined();
    expect((await stored())?.authorisedAmount).toBe(20n);
    // One charge, one fence at the old version that settled it, one charge of the retry.
    expect(channelPuts(faults.commits).map((c) => c.outcome)).toEqual([
      "applied",
      "failed before applying",
      "applied",
      "applied",
    ]);
  });

  test("the first payment of a channel only the chain knew: the fence writes the chain state, not the payment", async () => {
    const { faults, deps, stored } = await setup("local");
    const payment = pay(10n);
    faults.failCommitsBefore(1);
    expect((await refusal(admitEscrow(deps, PATH, payment))).message).toEndWith(NOT_CALLED);
    expect(await whenFree(deps, payment)).toBeUndefined();
    expect((await stored())?.authorisedAmount).toBe(10n);
  });

  test("a charge applied whose answer was lost: refused, and the amount is given back", async () => {
    const { faults, deps, stored } = await setup();
    expect(await paidCall(deps, pay(10n))).toBeUndefined();
    const payment = pay(20n);
    faults.failCommitsAfter(1);
    const err = await refusal(admitEscrow(deps, PATH, payment));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toEndWith(NOT_CALLED);
    expect(await whenFree(deps, payment)).toBeUndefined();
    const record = await stored();
    expect(record?.authorisedAmount).toBe(20n);
    expect(bytesEqual(record!.signature!, payment.signature)).toBe(true);
    // The lost charge, the fence that found it (refused), the give-back, the retry's charge.
    expect(channelPuts(faults.commits).map((c) => c.outcome)).toEqual([
      "applied",
      "applied, answer lost",
      "refused",
      "applied",
      "applied",
    ]);
  });

  test("a lost charge answer followed by a lost give-back answer: the next attempt finds the record given back", async () => {
    const { faults, deps, stored } = await setup();
    expect(await paidCall(deps, pay(10n))).toBeUndefined();
    faults.failCommitsAfter(3);
    await refusal(admitEscrow(deps, PATH, pay(20n)));
    expect(await whenFree(deps, pay(20n))).toBeUndefined();
    expect((await stored())?.authorisedAmount).toBe(20n);
  });

  test("a failed service call whose give-back answer was lost: the record still ends uncharged", async () => {
    const { faults, deps, stored } = await setup();
    expect(await paidCall(deps, pay(10n))).toBeUndefined();
    const payment = pay(20n);
    const admission = await admitEscrow(deps, PATH, payment);
    faults.failCommitsAfter(1);
    expect(await admission.settle(false)).toBeUndefined();
    expect(await whenFree(deps, payment)).toBeUndefined();
    expect((await stored())?.authorisedAmount).toBe(20n);
  });

  test("a failed service call whose give-back was refused unsent: given back in the background, and a stopping daemon waits for it", async () => {
    const { faults, deps, stored } = await setup();
    const pending = background();
    const tracked = { ...deps, background: pending };
    expect(await paidCall(tracked, pay(10n))).toBeUndefined();
    const payment = pay(20n);
    const admission = await admitEscrow(tracked, PATH, payment);
    faults.refuseCommits(1);
    expect(await admission.settle(false)).toBeUndefined();
    await pending.settled(5_000);
    expect((await stored())?.authorisedAmount).toBe(10n);
    expect(await whenFree(tracked, payment)).toBeUndefined();
    expect((await stored())?.authorisedAmount).toBe(20n);
  });

  test("a concurrent duplicate of one signature: exactly one call is admitted and paid", async () => {
    const { store, deps, stored } = await setup();
    const other = await replica(store, "leased", "replica-b");
    const payment = pay(10n);
    const tries = await Promise.allSettled([
      admitEscrow(deps, PATH, payment),
      admitEscrow(deps, PATH, payment),
      admitEscrow(other, PATH, payment),
    ]);
    const admitted = tries.flatMap((t) => (t.status === "fulfilled" ? [t.value] : []));
    const refused = tries.flatMap((t) => (t.status === "rejected" ? [t.reason as SnetError] : []));
    expect(admitted).toHaveLength(1);
    expect(refused.map((e) => [e.code, e.message])).toEqual([
      [Code.FAILED_PRECONDITION, `another transaction on channel: {ID: ${CHANNEL}} is in progress`],
      [Code.FAILED_PRECONDITION, `another transaction on channel: {ID: ${CHANNEL}} is in progress`],
    ]);
    expect(await admitted[0]!.settle(true)).toBeUndefined();
    expect((await stored())?.authorisedAmount).toBe(10n);
    for (const d of [deps, other]) {
      const again = await refusal(paidCall(d, payment));
      expect(again.code).toBe(Code.UNAUTHENTICATED);
    }
    expect((await stored())?.authorisedAmount).toBe(10n);
  });

  test("a store unavailable at admission refuses the call as UNAVAILABLE and frees the slot for the next call", async () => {
    const { faults, deps } = await setup();
    faults.failReads(1);
    const err = await refusal(admitEscrow(deps, PATH, pay(10n)));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toStartWith("payment state is unavailable (read channel): ");
    expect(await paidCall(deps, pay(10n))).toBeUndefined();
  });
});
