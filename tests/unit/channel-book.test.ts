// The channel book (payments/channel-book.ts, protocol/payments.md#reading-a-channel): the stored record
// merged with the chain, the group binding, the write-back of a nonce claimed on-chain without StartClaim, and
// what happens when the store or the chain does not answer. Real memory store behind faultInjectingStoreMock;
// the chain is a fake MpeReader (the real reader runs against anvil in the e2e suites).
import { describe, expect, test } from "bun:test";
import type { ChannelFreshness } from "../../src/chain/mpe-events.ts";
import type { ChainChannel, ChannelState } from "../../src/core/channel.ts";
import { Code } from "../../src/core/errors.ts";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { hexToBytes } from "../../src/core/numbers.ts";
import type { EscrowPayment } from "../../src/core/payment-headers.ts";
import { type Address, claimMessage, personalDigest } from "../../src/core/signatures.ts";
import { nobleRecovery } from "../../src/crypto/native-recovery.ts";
import { channelBook, storeCall } from "../../src/payments/channel-book.ts";
import { admitEscrow } from "../../src/payments/escrow-gate.ts";
import { localSlots } from "../../src/payments/slots.ts";
import { StoreUnavailableError } from "../../src/store/contract.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { decodeChannel, encodeChannel, keys as keysOf } from "../../src/store/records.ts";
import vectors from "../vectors/signatures.json" with { type: "json" };
import { fakeBlockSource, fakeMpeReader, faultInjectingStoreMock } from "./fault-store.ts";
import { refusal } from "./refusal.ts";

const MPE = vectors.constants.mpe_address.toLowerCase() as Address;
const CLIENT_KEY = hexToBytes(vectors.keys.client.private_key);
const CLIENT = vectors.keys.client.address.toLowerCase() as Address;
const PROVIDER = vectors.keys.provider.address.toLowerCase() as Address;
const GROUP = vectors.constants.group_id_hex as `0x${string}`;
const GROUP2 = vectors.constants.group2_id_hex as `0x${string}`;
const KEYS = keysOf("/test");
const ID = 7n;

const onChain = (changes: Partial<ChainChannel> = {}): ChainChannel => ({
  nonce: 0n,
  sender: CLIENT,
  signer: CLIENT,
  recipient: PROVIDER,
  groupId: GROUP,
  value: 1000n,
  expiration: 100_000n,
  ...changes,
});

const storedState = (changes: Partial<ChannelState> = {}): ChannelState => ({
  channelId: ID,
  nonce: 0n,
  sender: CLIENT,
  signer: CLIENT,
  recipient: PROVIDER,
  groupId: GROUP,
  fullAmount: 1000n,
  expiration: 100_000n,
  authorisedAmount: 30n,
  signature: new Uint8Array(65).fill(1),
  ...changes,
});

/** Freshness as the MPE event watcher reports it, set by hand; real tokens are tested in mpe-events.test.ts. */
function fakeFreshness(): ChannelFreshness & { fresh: Set<bigint> } {
  const fresh = new Set<bigint>();
  return {
    fresh,
    isFresh: (id) => fresh.has(id),
    readToken: () => 0,
    markFresh: (id) => void fresh.add(id),
    stop: () => {},
  };
}

async function setup(opts: { freshness?: boolean; stored?: ChannelState; chain?: ChainChannel } = {}) {
  const inner = memoryStore();
  const { store, faults } = faultInjectingStoreMock(inner);
  const mpe = fakeMpeReader(MPE);
  if (opts.chain) mpe.channels.set(ID, opts.chain);
  if (opts.stored)
    await inner.commit({
      compare: [],
      then: [{ op: "put", key: KEYS.channel(ID), value: encodeChannel(opts.stored) }],
    });
  const freshness = opts.freshness ? fakeFreshness() : undefined;
  const book = channelBook({
    store,
    keys: KEYS,
    mpe,
    groupIdHex: GROUP,
    paymentAddress: PROVIDER,
    ...(freshness ? { freshness } : {}),
  });
  const record = async () => {
    const e = await inner.get(KEYS.channel(ID));
    return e ? { state: decodeChannel(e.value), version: e.version } : undefined;
  };
  return { inner, store, faults, mpe, freshness, book, record };
}

describe("storeCall", () => {
  test("maps StoreUnavailableError to UNAVAILABLE and lets every other error through unchanged", async () => {
    const down = await refusal(
      storeCall("read channel", () => Promise.reject(new StoreUnavailableError("etcd has no leader"))),
    );
    expect(down.code).toBe(Code.UNAVAILABLE);
    expect(down.message).toBe("payment state is unavailable (read channel): etcd has no leader");
    expect(down.cause).toBeInstanceOf(StoreUnavailableError);
    const bug = new Error("a bug");
    await expect(storeCall("read channel", () => Promise.reject(bug))).rejects.toBe(bug);
  });
});

describe("channels the store does not know", () => {
  test("unknown on chain: undefined, and nothing is written", async () => {
    const { book, faults, mpe } = await setup();
    expect(await book.load(ID)).toBeUndefined();
    expect(mpe.reads).toBe(1);
    expect(faults.commits).toHaveLength(0);
  });

  test("known on chain: the chain state at version 0, not yet stored, and fresh", async () => {
    const { book, faults, freshness } = await setup({ freshness: true, chain: onChain() });
    const loaded = await book.load(ID);
    expect(loaded).toEqual({
      version: 0n,
      state: {
        channelId: ID,
        nonce: 0n,
        sender: CLIENT,
        signer: CLIENT,
        recipient: PROVIDER,
        groupId: GROUP,
        fullAmount: 1000n,
        expiration: 100_000n,
        authorisedAmount: 0n,
      },
    });
    expect(faults.commits).toHaveLength(0);
    expect(freshness!.isFresh(ID)).toBe(true);
  });

  test("another recipient or another group: INTERNAL payment channel error", async () => {
    const wrongRecipient = await setup({ chain: onChain({ recipient: CLIENT }) });
    const e1 = await refusal(wrongRecipient.book.load(ID));
    expect(e1.code).toBe(Code.INTERNAL);
    expect(e1.message).toBe(
      `payment channel error: recipient ${CLIENT} of channel ${ID} is not the payment address ${PROVIDER} of this group`,
    );
    const wrongGroup = await setup({ chain: onChain({ groupId: GROUP2 }) });
    const e2 = await refusal(wrongGroup.book.load(ID));
    expect(e2.code).toBe(Code.INTERNAL);
    expect(e2.message).toBe(
      `payment channel error: channel ${ID} belongs to group ${GROUP2}, this daemon serves ${GROUP}`,
    );
  });

  test("chain unreachable for a channel the store does not know: UNAVAILABLE", async () => {
    const { book, mpe } = await setup({ chain: onChain() });
    mpe.unreachable = true;
    const err = await refusal(book.load(ID));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toBe("unable to read channel details from blockchain: fake chain is unreachable");
  });

  test("store unreachable: UNAVAILABLE, the chain is not asked", async () => {
    const { book, faults, mpe } = await setup({ chain: onChain() });
    faults.failReads(1);
    const err = await refusal(book.load(ID));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toStartWith("payment state is unavailable (read channel): ");
    expect(mpe.reads).toBe(0);
  });
});

describe("stored channels", () => {
  test("fresh, or no event watcher: the stored record, without a chain read", async () => {
    const watched = await setup({ freshness: true, stored: storedState(), chain: onChain({ value: 5000n }) });
    watched.freshness!.fresh.add(ID);
    expect((await watched.book.load(ID))?.state).toEqual(storedState());
    const unwatched = await setup({ stored: storedState(), chain: onChain({ value: 5000n }) });
    expect((await unwatched.book.load(ID))?.state).toEqual(storedState());
    expect(watched.mpe.reads + unwatched.mpe.reads).toBe(0);
  });

  test("stale: merged with the chain (top-up, extension) at the stored version, then fresh", async () => {
    const { book, faults, freshness, mpe, record } = await setup({
      freshness: true,
      stored: storedState(),
      chain: onChain({ value: 5000n, expiration: 200_000n }),
    });
    const version = (await record())!.version;
    const loaded = await book.load(ID);
    expect(loaded).toEqual({ version, state: storedState({ fullAmount: 5000n, expiration: 200_000n }) });
    expect(faults.commits).toHaveLength(0);
    expect(freshness!.isFresh(ID)).toBe(true);
    await book.load(ID);
    expect(mpe.reads).toBe(1);
  });

  test("stored nonce ahead of the chain (claim in flight): the stored record is kept", async () => {
    const { book, faults, freshness } = await setup({
      freshness: true,
      stored: storedState({ nonce: 1n, authorisedAmount: 0n }),
      chain: onChain(),
    });
    expect((await book.load(ID))?.state).toEqual(storedState({ nonce: 1n, authorisedAmount: 0n }));
    expect(faults.commits).toHaveLength(0);
    expect(freshness!.isFresh(ID)).toBe(true);
  });

  test("chain ahead by one nonce (claimed without StartClaim): written back at once", async () => {
    const { book, freshness, record } = await setup({
      freshness: true,
      stored: storedState(),
      chain: onChain({ nonce: 1n, value: 970n }),
    });
    const before = (await record())!.version;
    const loaded = await book.load(ID);
    const after = await record();
    const chainState = {
      channelId: ID,
      nonce: 1n,
      sender: CLIENT,
      signer: CLIENT,
      recipient: PROVIDER,
      groupId: GROUP,
      fullAmount: 970n,
      expiration: 100_000n,
      authorisedAmount: 0n,
    };
    expect(after?.state).toEqual(chainState);
    expect(after!.version).toBeGreaterThan(before);
    expect(loaded).toEqual({ state: chainState, version: after!.version });
    expect(freshness!.isFresh(ID)).toBe(true);
  });

  test("chain ahead by one nonce: a payment at the old nonce then gets code 1000", async () => {
    const { store, book, mpe, record } = await setup({
      freshness: true,
      stored: storedState(),
      chain: onChain({ nonce: 1n, value: 970n }),
    });
    const amount = 40n;
    const signature = signDigest(CLIENT_KEY, personalDigest(claimMessage(MPE, ID, 0n, amount)));
    const payment: EscrowPayment = { type: "escrow", channelId: ID, nonce: 0n, amount, signature };
    const deps = {
      mpe: MPE,
      book,
      slots: localSlots(),
      keys: KEYS,
      blocks: fakeBlockSource(100n),
      recovery: nobleRecovery,
      expirationThreshold: 10n,
      price: () => 10n,
    };
    const err = await refusal(admitEscrow(deps, "/svc/m", payment));
    expect(err.code).toBe(Code.INCORRECT_NONCE);
    expect(err.message).toBe("incorrect payment channel nonce, latest: 1, sent: 0");
    expect((await record())?.state.nonce).toBe(1n);
    // Another replica that reads the store (trusting it, no event watcher) sees the new nonce too.
    const other = channelBook({ store, keys: KEYS, mpe, groupIdHex: GROUP, paymentAddress: PROVIDER });
    const again = await refusal(admitEscrow({ ...deps, book: other }, "/svc/m", payment));
    expect(again.code).toBe(Code.INCORRECT_NONCE);
  });

  test("a write-back the store failed leaves the channel stale, so the dead nonce is not trusted later", async () => {
    const { book, faults, freshness, record } = await setup({
      freshness: true,
      stored: storedState(),
      chain: onChain({ nonce: 1n }),
    });
    faults.failCommitsBefore(1);
    const err = await refusal(book.load(ID));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(freshness!.isFresh(ID)).toBe(false);
    expect((await record())?.state.nonce).toBe(0n);
    expect((await book.load(ID))?.state.nonce).toBe(1n);
    expect((await record())?.state.nonce).toBe(1n);
  });

  test("a write-back that races a payment at the dead nonce merges again and still records the chain nonce", async () => {
    const { inner, book, faults, freshness, record } = await setup({
      freshness: true,
      stored: storedState(),
      chain: onChain({ nonce: 1n }),
    });
    const held = faults.holdNextCommit();
    const loading = book.load(ID);
    await held.reached;
    // Another replica, not yet aware of the claim, records a payment at the dead nonce first.
    const current = (await record())!;
    expect(
      await inner.commit({
        compare: [{ key: KEYS.channel(ID), version: current.version }],
        then: [{ op: "put", key: KEYS.channel(ID), value: encodeChannel(storedState({ authorisedAmount: 40n })) }],
      }),
    ).toBe(true);
    held.release();
    const loaded = await loading;
    expect(loaded?.state.nonce).toBe(1n);
    expect(loaded?.state.authorisedAmount).toBe(0n);
    const after = await record();
    expect(after?.state.nonce).toBe(1n);
    expect(loaded?.version).toBe(after!.version);
    expect(faults.commits.map((c) => c.outcome)).toEqual(["refused", "applied"]);
    expect(freshness!.isFresh(ID)).toBe(true);
  });

  test("chain unreachable for a stored channel: the stored record is used and it stays stale", async () => {
    const { book, mpe, freshness, record } = await setup({
      freshness: true,
      stored: storedState(),
      chain: onChain({ value: 5000n }),
    });
    mpe.unreachable = true;
    const loaded = await book.load(ID);
    expect(loaded).toEqual({ state: storedState(), version: (await record())!.version });
    expect(freshness!.isFresh(ID)).toBe(false);
    // A caller that needs the chain (a payment the store cannot explain) gets the chain's error.
    const err = await refusal(book.load(ID, { refreshFromChain: true }));
    expect(err.code).toBe(Code.UNAVAILABLE);
  });
});
