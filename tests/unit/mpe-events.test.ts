// Channel freshness from MPE events (chain/mpe-events.ts, protocol/payments.md#reading-a-channel):
// which logs make a channel stale, the read tokens that keep a read older than an event from marking
// it fresh, and a failing node forgetting everything. The viem client is a fake that answers
// getBlockNumber and getLogs from a list the test controls; the real node is covered by the e2e suites.
import { afterEach, describe, expect, test } from "bun:test";
import type { PublicClient } from "viem";
import { type ChannelFreshness, watchChannelEvents } from "../../src/chain/mpe-events.ts";
import type { Address } from "../../src/core/signatures.ts";

const MPE = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512" as Address;
const TOPIC = {
  ChannelClaim: "0x77c3504a57863d978ba4c28ea297490f1f4814365f5ed32b35cbf5b695db003c",
  ChannelSenderClaim: "0x592ba8545b0ef2ef56ac54c4db27df2bdbb2a60acc1c5a4ac134eccc20cb8096",
  ChannelAddFunds: "0xb0e2286f86435d8f98d9cf1c908b693792eb905dd03cd40d2b1d23a3e5311a40",
  ChannelExtend: "0xf8d4e64f6b2b3db6aaf38b319e259285a48ecd0c5bc0115c9928aba297c73420",
  // Not a channel change: the channel id is not even indexed.
  ChannelOpen: "0x172899db3034d5e4e68a2873998cc66a59bad4610fa6319a51f31f75e84452b7",
} as const;
const topicOf = (id: bigint) => `0x${id.toString(16).padStart(64, "0")}` as const;

interface FakeLog {
  blockNumber: bigint;
  address: Address;
  topics: `0x${string}`[];
}

/** The two calls the watcher makes, answered from fields the test sets. */
function fakeEventClient(head: bigint) {
  const calls: ((n: number) => void)[] = [];
  const fake = {
    head,
    logs: [] as FakeLog[],
    failing: false,
    /** Set to hold the next getBlockNumber until resolved. */
    gate: undefined as Promise<void> | undefined,
    blockNumberCalls: 0,
    ranges: [] as { fromBlock: bigint; toBlock: bigint }[],
    async getBlockNumber(_opts: { cacheTime: number }) {
      fake.blockNumberCalls++;
      for (const c of calls.splice(0)) c(fake.blockNumberCalls);
      if (fake.gate) await fake.gate;
      if (fake.failing) throw new Error("fake node is unreachable");
      return fake.head;
    },
    async getLogs(args: { address: Address; fromBlock: bigint; toBlock: bigint }) {
      fake.ranges.push({ fromBlock: args.fromBlock, toBlock: args.toBlock });
      return fake.logs.filter(
        (l) => l.address === args.address && l.blockNumber >= args.fromBlock && l.blockNumber <= args.toBlock,
      );
    },
    /**
     * Resolves once a poll that started after this call has finished: a poll starts with getBlockNumber
     * and the watcher never starts one while another runs, so the second call after now ends the first.
     */
    async pollDone() {
      const start = fake.blockNumberCalls;
      while (fake.blockNumberCalls < start + 2) await new Promise<number>((r) => calls.push(r));
    },
    // The watcher uses only getBlockNumber and getLogs; a full PublicClient is not needed to exercise it.
    asClient: () => fake as unknown as PublicClient,
  };
  return fake;
}

const log = (blockNumber: bigint, topic0: string, id: bigint): FakeLog => ({
  blockNumber,
  address: MPE,
  topics: [topic0 as `0x${string}`, topicOf(id)],
});

const watchers: ChannelFreshness[] = [];
function watch(client: ReturnType<typeof fakeEventClient>, onError?: (err: unknown) => void) {
  const w = watchChannelEvents(client.asClient(), MPE, { intervalMs: 100, ...(onError ? { onError } : {}) });
  watchers.push(w);
  return w;
}
afterEach(() => {
  for (const w of watchers.splice(0)) w.stop();
});

/** A watcher whose first poll has fixed its cursor at `head`. */
async function started(head = 100n) {
  const client = fakeEventClient(head);
  const errors: unknown[] = [];
  const w = watch(client, (err) => errors.push(err));
  await client.pollDone();
  return { client, w, errors };
}

describe("channel freshness from MPE events", () => {
  test("a ChannelClaim log for channel 7 makes channel 7 stale; other channels and other events do not", async () => {
    const { client, w } = await started();
    const token = w.readToken();
    for (const id of [7n, 8n, 9n]) w.markFresh(id, token);
    expect([7n, 8n, 9n].map(w.isFresh)).toEqual([true, true, true]);
    client.logs.push(log(101n, TOPIC.ChannelClaim, 7n), log(101n, TOPIC.ChannelOpen, 8n));
    client.logs.push({
      blockNumber: 101n,
      address: "0x0000000000000000000000000000000000000001",
      topics: [TOPIC.ChannelClaim, topicOf(9n)],
    });
    client.head = 101n;
    await client.pollDone();
    expect([7n, 8n, 9n].map(w.isFresh)).toEqual([false, true, true]);
  });

  test("sender claims, top-ups and extensions make their channel stale too", async () => {
    const { client, w } = await started();
    const token = w.readToken();
    for (const id of [1n, 2n, 3n]) w.markFresh(id, token);
    client.logs.push(
      log(101n, TOPIC.ChannelSenderClaim, 1n),
      log(102n, TOPIC.ChannelAddFunds, 2n),
      log(103n, TOPIC.ChannelExtend.toUpperCase().replace("0X", "0x"), 3n),
    );
    client.head = 103n;
    await client.pollDone();
    expect([1n, 2n, 3n].map(w.isFresh)).toEqual([false, false, false]);
  });

  test("markFresh with a token taken before the event does not mark the channel fresh; a later token does", async () => {
    const { client, w } = await started();
    // A chain read of channel 7 starts here, and the claim lands before its answer is used.
    const before = w.readToken();
    client.logs.push(log(101n, TOPIC.ChannelClaim, 7n));
    client.head = 101n;
    await client.pollDone();
    w.markFresh(7n, before);
    expect(w.isFresh(7n)).toBe(false);
    // Only channel 7 was named: a read of channel 8 from the same moment is still good.
    w.markFresh(8n, before);
    expect(w.isFresh(8n)).toBe(true);
    w.markFresh(7n, w.readToken());
    expect(w.isFresh(7n)).toBe(true);
  });

  test("a read taken before the first poll fixed the cursor does not count", async () => {
    const client = fakeEventClient(100n);
    let open!: () => void;
    client.gate = new Promise<void>((r) => (open = r));
    const w = watch(client);
    // The read may show block 99 while the first poll starts from block 100: a claim at 100 would be
    // fetched by nobody.
    const early = w.readToken();
    client.gate = undefined;
    open();
    await client.pollDone();
    w.markFresh(7n, early);
    expect(w.isFresh(7n)).toBe(false);
    w.markFresh(7n, w.readToken());
    expect(w.isFresh(7n)).toBe(true);
  });

  test("a poll error forgets every channel, and reads from before it do not count", async () => {
    const { client, w, errors } = await started();
    const before = w.readToken();
    w.markFresh(7n, before);
    w.markFresh(8n, before);
    client.failing = true;
    // What happens during the outage is learnt only once the node answers again.
    client.logs.push(log(105n, TOPIC.ChannelClaim, 8n));
    client.head = 110n;
    await client.pollDone();
    expect(errors.length).toBeGreaterThan(0);
    expect((errors[0] as Error).message).toBe("fake node is unreachable");
    expect([w.isFresh(7n), w.isFresh(8n)]).toEqual([false, false]);
    w.markFresh(7n, before);
    expect(w.isFresh(7n)).toBe(false);
    // Back online, the events of the outage are fetched from where the cursor stopped.
    client.failing = false;
    await client.pollDone();
    expect(client.ranges).toEqual([{ fromBlock: 101n, toBlock: 110n }]);
    w.markFresh(7n, before);
    expect(w.isFresh(7n)).toBe(false);
    w.markFresh(7n, w.readToken());
    expect(w.isFresh(7n)).toBe(true);
  });

  test("a daemon far behind catches up in ranges of at most 5000 blocks and misses no event", async () => {
    const { client, w } = await started();
    w.markFresh(7n, w.readToken());
    client.logs.push(log(11_000n, TOPIC.ChannelClaim, 7n));
    client.head = 12_100n;
    await client.pollDone();
    expect(client.ranges).toEqual([
      { fromBlock: 101n, toBlock: 5_100n },
      { fromBlock: 5_101n, toBlock: 10_100n },
      { fromBlock: 10_101n, toBlock: 12_100n },
    ]);
    expect(w.isFresh(7n)).toBe(false);
  });
});
