// Escrow admission and settlement (payments/escrow-gate.ts, protocol/payments.md#escrow-settlement) when the
// store fails around the one commit that records the money. Real channel book, real slots, real
// signatures; the store is a real memory store behind faultInjectingStoreMock (etcd cannot be made to
// lose one chosen answer on cue) and the chain is faked (the real one is covered by the e2e suites).
import { describe, expect, test } from "bun:test";
import vectors from "../vectors/signatures.json" with { type: "json" };
import type { ChainChannel } from "../../src/core/channel.ts";
import { Code, SnetError } from "../../src/core/errors.ts";
import { bytesEqual, hexToBytes } from "../../src/core/numbers.ts";
import { signDigest } from "../../src/core/noble-recovery.ts";
import type { EscrowPayment } from "../../src/core/payment-headers.ts";
import { type Address, claimMessage, personalDigest } from "../../src/core/signatures.ts";
import { nobleRecovery } from "../../src/crypto/native-recovery.ts";
import { channelBook } from "../../src/payments/channel-book.ts";
import { type EscrowDeps, admitEscrow } from "../../src/payments/escrow-gate.ts";
import { type ChannelSlots, leasedSlots, localSlots } from "../../src/payments/slots.ts";
import type { Store } from "../../src/store/contract.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { decodeChannel, keys as keysOf } from "../../src/store/records.ts";
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

const chainChannel = (): ChainChannel => ({ nonce: 0n, sender: CLIENT, signer: CLIENT, recipient: PROVIDER, groupId: GROUP, value: 1000n, expiration: 100_000n });

function pay(amount: bigint, nonce = 0n): EscrowPayment {
  const signature = signDigest(CLIENT_KEY, personalDigest(claimMessage(MPE, CHANNEL, nonce, amount)));
  return { type: "escrow", channelId: CHANNEL, nonce, amount, signature };
}

/** One replica: its own channel book and slots over the shared store. */
async function replica(store: Store, slots: "leased" | "local" = "leased", owner = "replica-a"): Promise<EscrowDeps> {
  const mpe = fakeMpeReader(MPE);
  mpe.channels.set(CHANNEL, chainChannel());
  const book = channelBook({ store, keys: KEYS, mpe, groupIdHex: GROUP, paymentAddress: PROVIDER });
  const channelSlots: ChannelSlots = slots === "leased" ? leasedSlots(store, await store.grantLease(10), owner) : localSlots();
  return { mpe: MPE, book, slots: channelSlots, keys: KEYS, blocks: fakeBlockSource(100n), recovery: nobleRecovery, expirationThreshold: 10n, price: () => PRICE };
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

describe("escrow admission on a healthy store", () => {
  test("a paid call commits exactly one transaction, which records the amount and signature", async () => {
    const { faults, deps, stored } = await setup("local");
    const payment = pay(10n);
    const admission = await admitEscrow(deps, PATH, payment);
    expect(admission.setHeaders).toEqual({ "snet-user-address": vectors.keys.client.address });
    expect(faults.commits).toHaveLength(0);
    expect(await admission.settle(true)).toBeUndefined();
    expect(faults.commits.map((c) => c.outcome)).toEqual(["applied"]);
    const record = await stored();
    expect(record?.authorisedAmount).toBe(10n);
    expect(bytesEqual(record!.signature!, payment.signature)).toBe(true);
  });

  test("with leased slots the slot is taken in its own transaction and released inside the payment's", async () => {
    const { faults, deps, stored, slotTaken } = await setup();
    const admission = await admitEscrow(deps, PATH, pay(10n));
    expect(await slotTaken()).toBe(true);
    expect(await admission.settle(true)).toBeUndefined();
    expect(faults.commits).toHaveLength(2);
    expect(faults.commits[1]!.txn.then).toContainEqual({ op: "delete", key: KEYS.slot(CHANNEL) });
    expect(await slotTaken()).toBe(false);
    expect((await stored())?.authorisedAmount).toBe(10n);
    expect(await paidCall(deps, pay(20n))).toBeUndefined();
    expect((await stored())?.authorisedAmount).toBe(20n);
  });

  test("settle(false) charges nothing and frees the slot", async () => {
    const { faults, deps, stored, slotTaken } = await setup();
    const payment = pay(10n);
    const admission = await admitEscrow(deps, PATH, payment);
    expect(await admission.settle(false)).toBeUndefined();
    expect(channelPuts(faults.commits)).toHaveLength(0);
    expect(await stored()).toBeUndefined();
    expect(await slotTaken()).toBe(false);
    // The client was not charged, so the very same payment is good for the next call.
    expect(await paidCall(deps, payment)).toBeUndefined();
    expect((await stored())?.authorisedAmount).toBe(10n);
  });
});

describe("escrow settlement when the store fails", () => {
  test("a commit that failed before applying: not charged, state unchanged, the same signature works next time", async () => {
    const { faults, deps, stored, slotTaken } = await setup();
    const first = pay(10n);
    expect(await paidCall(deps, first)).toBeUndefined();
    const payment = pay(20n);
    const admission = await admitEscrow(deps, PATH, payment);
    faults.failCommitsBefore(1);
    const err = await admission.settle(true);
    expect(err?.code).toBe(Code.UNAVAILABLE);
    expect(err?.message).toBe(
      "unable to store new payment channel state: the store failed during the commit, so the call was not charged; the same payment may be sent again",
    );
    const record = await stored();
    expect(record?.authorisedAmount).toBe(10n);
    expect(bytesEqual(record!.signature!, first.signature)).toBe(true);
    // The fence released the slot in the same transaction.
    expect(await slotTaken()).toBe(false);
    expect(await paidCall(deps, payment)).toBeUndefined();
    expect((await stored())?.authorisedAmount).toBe(20n);
  });

  test("the first payment of a channel only the chain knew: the fence writes the chain state, not the payment", async () => {
    const { faults, deps, stored } = await setup();
    const payment = pay(10n);
    const admission = await admitEscrow(deps, PATH, payment);
    faults.failCommitsBefore(1);
    expect((await admission.settle(true))?.message).toContain("the call was not charged");
    const record = await stored();
    expect(record?.authorisedAmount).toBe(0n);
    expect(record?.signature).toBeUndefined();
    expect(await paidCall(deps, payment)).toBeUndefined();
  });

  test("a commit applied whose answer was lost: the fence finds it, the call is OK and counted once", async () => {
    const { faults, deps, stored, slotTaken } = await setup();
    expect(await paidCall(deps, pay(10n))).toBeUndefined();
    const payment = pay(20n);
    const admission = await admitEscrow(deps, PATH, payment);
    faults.failCommitsAfter(1);
    expect(await admission.settle(true)).toBeUndefined();
    const record = await stored();
    expect(record?.authorisedAmount).toBe(20n);
    expect(bytesEqual(record!.signature!, payment.signature)).toBe(true);
    const puts = channelPuts(faults.commits);
    expect(puts.map((c) => c.outcome)).toEqual(["applied", "applied, answer lost", "refused"]);
    expect(await slotTaken()).toBe(false);
    // Counted once: the same signature again pays nothing, so it is refused.
    const again = await refusal(paidCall(deps, payment));
    expect(again.code).toBe(Code.UNAUTHENTICATED);
    expect(again.message).toBe(`income 0 does not equal to price ${PRICE}`);
    expect((await stored())?.authorisedAmount).toBe(20n);
  });

  test("a lost commit answer followed by a lost fence answer: the next fence attempt still finds the payment", async () => {
    const { faults, deps, stored } = await setup();
    const admission = await admitEscrow(deps, PATH, pay(10n));
    faults.failCommitsAfter(2);
    expect(await admission.settle(true)).toBeUndefined();
    expect((await stored())?.authorisedAmount).toBe(10n);
    expect(channelPuts(faults.commits).map((c) => c.outcome)).toEqual(["applied, answer lost", "refused", "refused"]);
  });

  test("a failed commit followed by a fence whose answer was lost: not charged", async () => {
    const { faults, deps, stored, slotTaken } = await setup();
    expect(await paidCall(deps, pay(10n))).toBeUndefined();
    const payment = pay(20n);
    const admission = await admitEscrow(deps, PATH, payment);
    faults.failCommitsBefore(1);
    faults.failCommitsAfter(1);
    const err = await admission.settle(true);
    expect(err?.code).toBe(Code.UNAVAILABLE);
    expect(err?.message).toContain("the call was not charged");
    expect((await stored())?.authorisedAmount).toBe(10n);
    expect(await slotTaken()).toBe(false);
    expect(await paidCall(deps, payment)).toBeUndefined();
  });

  test("when no fence attempt gets an answer the outcome stays unknown, and the slot is released separately", async () => {
    const { faults, deps, stored, slotTaken } = await setup();
    expect(await paidCall(deps, pay(10n))).toBeUndefined();
    const admission = await admitEscrow(deps, PATH, pay(20n));
    // The commit and the three fence attempts fail; the release after them goes through.
    faults.failCommitsBefore(4);
    const err = await admission.settle(true);
    expect(err?.code).toBe(Code.UNAVAILABLE);
    expect(err?.message).toStartWith("unable to store new payment channel state: payment state is unavailable (store channel): ");
    expect(err?.message).not.toContain("not charged");
    expect((await stored())?.authorisedAmount).toBe(10n);
    expect(await slotTaken()).toBe(false);
  });

  test("a concurrent duplicate of one signature: exactly one call is admitted and paid", async () => {
    const { store, deps, stored } = await setup();
    const other = await replica(store, "leased", "replica-b");
    const payment = pay(10n);
    const tries = await Promise.allSettled([admitEscrow(deps, PATH, payment), admitEscrow(deps, PATH, payment), admitEscrow(other, PATH, payment)]);
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

  test("a store unavailable at admission refuses the call as UNAVAILABLE and frees the slot", async () => {
    const { faults, deps, slotTaken } = await setup();
    faults.failReads(1);
    const err = await refusal(admitEscrow(deps, PATH, pay(10n)));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toStartWith("payment state is unavailable (read channel): ");
    expect(await slotTaken()).toBe(false);
    expect(await paidCall(deps, pay(10n))).toBeUndefined();
  });
});
