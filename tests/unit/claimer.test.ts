// The claim flow's decisions (src/claims/claimer.ts, claim-transactions.ts, src/cli/claim.ts): which channels
// a selection names, what each transaction outcome means, and the exit code cron sees. The chain here is a small in-memory
// MPE (nonces, a mempool, receipts), so the branches anvil cannot reach on demand are pinned too; the
// real chain is exercised by tests/e2e/claims.test.ts and auto-claim.test.ts.
import { describe, expect, test } from "bun:test";
import type { PublicClient } from "viem";
import {
  type ClaimDeps,
  type ClaimOutcome,
  runClaims,
  selectChannels,
  type TreasurySource,
} from "../../src/claims/claimer.ts";
import { exitFor } from "../../src/cli/claim.ts";
import type { PaymentInClaim } from "../../src/core/channel.ts";
import type { ClaimablePayment, UnclaimedChannel } from "../../src/payments/treasury.ts";

const MPE = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512" as const;
const HEAD = 1000n;

const channel = (channelId: bigint, amount: bigint, expiration: bigint, nonce = 0n): UnclaimedChannel => ({
  channelId,
  nonce,
  amount,
  expiration,
  fullAmount: 10_000n,
  sender: "0x0000000000000000000000000000000000000001",
});

describe("selectChannels", () => {
  const list = [
    channel(1n, 100n, HEAD + 10n),
    channel(2n, 500n, HEAD + 50n),
    channel(3n, 300n, HEAD + 51n),
    channel(4n, 900n, HEAD + 5000n),
  ];
  const ids = (sel: Parameters<typeof selectChannels>[1]) => selectChannels(list, sel, HEAD).map((c) => c.channelId);

  test("no criterion selects nothing: a bare run only finishes started claims", () => {
    expect(ids({})).toEqual([]);
    expect(ids({ channelIds: [] })).toEqual([]);
  });

  test("--all selects every channel with something to claim", () => {
    expect(ids({ all: true })).toEqual([1n, 2n, 3n, 4n]);
    expect(selectChannels([...list, channel(5n, 0n, HEAD + 1n)], { all: true }, HEAD).map((c) => c.channelId)).toEqual([
      1n,
      2n,
      3n,
      4n,
    ]);
  });

  test("--channel-id selects only the ids given, unknown ids are ignored", () => {
    expect(ids({ channelIds: [3n, 99n] })).toEqual([3n]);
    expect(ids({ channelIds: [4n, 1n] })).toEqual([1n, 4n]);
  });

  test("--expiring-within B selects expiration − head ≤ B (inclusive), already expired ones too", () => {
    expect(ids({ expiringWithin: 50n })).toEqual([1n, 2n]);
    expect(ids({ expiringWithin: 0n })).toEqual([]);
    expect(selectChannels([channel(7n, 1n, HEAD - 3n)], { expiringWithin: 0n }, HEAD).map((c) => c.channelId)).toEqual([
      7n,
    ]);
  });

  test("--min-amount C selects amount ≥ C (inclusive)", () => {
    expect(ids({ minAmount: 500n })).toEqual([2n, 4n]);
  });

  test("criteria combine with AND", () => {
    expect(ids({ expiringWithin: 60n, minAmount: 300n })).toEqual([2n, 3n]);
    expect(ids({ all: true, minAmount: 900n })).toEqual([4n]);
    expect(ids({ channelIds: [1n, 2n], expiringWithin: 20n })).toEqual([1n]);
  });
});

const o = (status: ClaimOutcome["status"]): ClaimOutcome => ({ channelId: 1n, nonce: 0n, amount: 1n, status });

describe("exitFor", () => {
  const cases: [string, ClaimOutcome["status"][], number][] = [
    ["nothing at all", [], 4],
    ["only skipped", ["skipped"], 4],
    ["all claimed", ["claimed", "claimed"], 0],
    ["claimed earlier (already on-chain)", ["already-claimed"], 0],
    ["claimed and skipped", ["claimed", "skipped"], 0],
    ["some claimed, some failed", ["claimed", "failed"], 5],
    ["already-claimed and failed", ["already-claimed", "failed"], 5],
    ["all failed", ["failed", "failed"], 1],
  ];
  for (const [what, statuses, code] of cases) {
    test(`${what} → ${code}`, () => {
      expect(exitFor({ outcomes: statuses.map(o), claimedAmount: 0n })).toBe(code);
    });
  }
});

/**
 * A MultiPartyEscrow in memory: claims move the nonce (in a mined block, or only in the mempool), a claim of
 * a payment whose nonce the pending state passed fails estimation (as anvil does), and receipts report
 * what the contract did. `sent` records every transaction.
 */
function fakeChain(
  nonces: Record<string, bigint>,
  behaviour: { multi?: "ok" | "revert" | "no-receipt"; refuse?: bigint[] } = {},
) {
  const latest = new Map(Object.entries(nonces).map(([k, v]) => [BigInt(k), v]));
  const pending = new Map(latest);
  const sent: { fn: string; ids: bigint[] }[] = [];
  const receipts = new Map<string, "success" | "reverted" | "none">();
  const idsOf = (fn: string, args: readonly unknown[]) =>
    fn === "multiChannelClaim" ? (args[0] as bigint[]) : [args[0] as bigint];
  const noncesOf = (fn: string, args: readonly unknown[]) => idsOf(fn, args).map((id) => latest.get(id) ?? 0n);

  const publicClient = {
    async getBlockNumber() {
      return HEAD;
    },
    async readContract(a: { args: [bigint]; blockTag?: string }) {
      return [(a.blockTag === "pending" ? pending : latest).get(a.args[0]) ?? 0n];
    },
    async simulateContract(a: { functionName: string; args: readonly unknown[] }) {
      const ids = idsOf(a.functionName, a.args);
      if (ids.some((id) => behaviour.refuse?.includes(id)))
        throw Object.assign(new Error("reverted"), {
          shortMessage: 'The contract function "channelClaim" reverted with the following reason:\nInvalid signature',
        });
      if (a.functionName === "multiChannelClaim" && behaviour.multi === "revert")
        return { request: { ...a, willRevert: true } };
      return { request: a };
    },
    async waitForTransactionReceipt({ hash }: { hash: string }) {
      const r = receipts.get(hash);
      if (r === "none")
        throw Object.assign(new Error("timeout"), { shortMessage: "Timed out while waiting for transaction" });
      return { status: r };
    },
  };
  const wallet = {
    account: { address: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" },
    async writeContract(req: { functionName: string; args: readonly unknown[]; willRevert?: boolean }) {
      const ids = idsOf(req.functionName, req.args);
      // Gas estimation runs on the pending state: a payment claimed there already fails.
      if (ids.some((id) => (pending.get(id) ?? 0n) > (latest.get(id) ?? 0n)))
        throw Object.assign(new Error("estimate"), { shortMessage: "Invalid signature" });
      const hash = `0x${(sent.length + 1).toString(16).padStart(64, "0")}`;
      sent.push({ fn: req.functionName, ids });
      const before = noncesOf(req.functionName, req.args);
      if (req.willRevert) receipts.set(hash, "reverted");
      else if (req.functionName === "multiChannelClaim" && behaviour.multi === "no-receipt") {
        receipts.set(hash, "none");
        for (const [i, id] of ids.entries()) pending.set(id, (before[i] as bigint) + 1n);
      } else {
        receipts.set(hash, "success");
        for (const [i, id] of ids.entries()) {
          latest.set(id, (before[i] as bigint) + 1n);
          pending.set(id, (before[i] as bigint) + 1n);
        }
      }
      return hash;
    },
  };
  return { publicClient, wallet, sent, latest, pending };
}

const SIG = new Uint8Array(65).fill(7);
const payment = (channelId: bigint, amount: bigint, nonce = 0n): ClaimablePayment => ({
  channelId,
  nonce,
  amount,
  signature: SIG,
  expiration: HEAD + 100n,
});

/** A daemon's treasury in memory: StartClaim moves a channel's payment to "in progress" at nonce + 1. */
function fakeSource(
  unclaimed: UnclaimedChannel[],
  inProgress: ClaimablePayment[] = [],
  opts: { failStartAt?: bigint } = {},
) {
  const state = { unclaimed: [...unclaimed], inProgress: [...inProgress], starts: [] as bigint[][] };
  const source: TreasurySource = {
    async inProgress() {
      return [...state.inProgress];
    },
    async unclaimed() {
      return [...state.unclaimed];
    },
    async startClaims(ids) {
      state.starts.push(ids);
      const out: PaymentInClaim[] = [];
      for (const id of ids) {
        if (id === opts.failStartAt)
          throw new Error(`authorized amount is zero , hence nothing to claim on the channel Id: ${id}`);
        const c = state.unclaimed.find((u) => u.channelId === id)!;
        state.unclaimed = state.unclaimed.filter((u) => u.channelId !== id);
        const p = payment(id, c.amount, c.nonce);
        state.inProgress.push(p);
        out.push(p);
      }
      return out;
    },
  };
  return { source, state };
}

function deps(chain: ReturnType<typeof fakeChain>, source: TreasurySource, extra: Partial<ClaimDeps> = {}): ClaimDeps {
  return {
    source,
    // The fakes implement only the viem methods the claimer calls; the claimer's types are viem's.
    publicClient: chain.publicClient as unknown as PublicClient,
    wallet: chain.wallet as unknown as ClaimDeps["wallet"],
    mpe: MPE,
    batchSize: 20,
    ...extra,
  };
}

const summary = (r: { outcomes: ClaimOutcome[] }) => r.outcomes.map((x) => [x.channelId, x.status]);

describe("runClaims", () => {
  test("dry run plans started and selected claims and sends nothing", async () => {
    const chain = fakeChain({ 1: 0n, 2: 0n, 3: 0n });
    const { source, state } = fakeSource(
      [channel(2n, 200n, HEAD + 10n), channel(3n, 300n, HEAD + 10n)],
      [payment(1n, 100n)],
    );
    const r = await runClaims(deps(chain, source, { dryRun: true }), { all: true });
    expect(summary(r)).toEqual([
      [1n, "planned"],
      [2n, "planned"],
      [3n, "planned"],
    ]);
    expect(r.claimedAmount).toBe(0n);
    expect(chain.sent).toEqual([]);
    expect(state.starts).toEqual([]);
  });

  test("started claims go first, then selected channels in one multiChannelClaim", async () => {
    const chain = fakeChain({ 1: 0n, 2: 0n, 3: 0n });
    const { source } = fakeSource([channel(2n, 200n, HEAD + 10n), channel(3n, 300n, HEAD + 10n)], [payment(1n, 100n)]);
    const r = await runClaims(deps(chain, source), { all: true });
    expect(summary(r)).toEqual([
      [1n, "claimed"],
      [2n, "claimed"],
      [3n, "claimed"],
    ]);
    expect(r.claimedAmount).toBe(600n);
    expect(chain.sent).toEqual([
      { fn: "channelClaim", ids: [1n] },
      { fn: "multiChannelClaim", ids: [2n, 3n] },
    ]);
  });

  test("batches respect batch_size", async () => {
    const chain = fakeChain({ 1: 0n, 2: 0n, 3: 0n });
    const { source } = fakeSource([channel(1n, 1n, HEAD), channel(2n, 2n, HEAD), channel(3n, 3n, HEAD)]);
    await runClaims(deps(chain, source, { batchSize: 2 }), { all: true });
    expect(chain.sent).toEqual([
      { fn: "multiChannelClaim", ids: [1n, 2n] },
      { fn: "channelClaim", ids: [3n] },
    ]);
  });

  test("a payment the chain already passed is reported, not sent; its channel is started so the daemon moves on", async () => {
    const chain = fakeChain({ 1: 1n, 2: 0n });
    const { source, state } = fakeSource([channel(1n, 100n, HEAD + 10n), channel(2n, 200n, HEAD + 10n)]);
    const r = await runClaims(deps(chain, source), { all: true });
    expect(summary(r)).toEqual([
      [1n, "already-claimed"],
      [2n, "claimed"],
    ]);
    expect(r.claimedAmount).toBe(200n);
    expect(state.starts).toEqual([[1n, 2n]]);
    expect(chain.sent).toEqual([{ fn: "channelClaim", ids: [2n] }]);
  });

  test("a channel listed ahead of the chain (its earlier claim not mined) is skipped", async () => {
    const chain = fakeChain({ 1: 0n });
    const { source, state } = fakeSource([channel(1n, 100n, HEAD + 10n, 1n)]);
    const r = await runClaims(deps(chain, source), { all: true });
    expect(summary(r)).toEqual([[1n, "skipped"]]);
    expect(state.starts).toEqual([]);
    expect(exitFor(r)).toBe(4);
  });

  test("a reverted multiChannelClaim falls back to one claim per channel", async () => {
    const chain = fakeChain({ 1: 0n, 2: 0n }, { multi: "revert" });
    const { source } = fakeSource([channel(1n, 100n, HEAD), channel(2n, 200n, HEAD)]);
    const r = await runClaims(deps(chain, source), { all: true });
    expect(summary(r)).toEqual([
      [1n, "claimed"],
      [2n, "claimed"],
    ]);
    expect(chain.sent.map((s) => s.fn)).toEqual(["multiChannelClaim", "channelClaim", "channelClaim"]);
  });

  test("a payment the contract refuses fails alone; the others are claimed (exit 5)", async () => {
    const chain = fakeChain({ 1: 0n, 2: 0n }, { refuse: [2n] });
    const { source } = fakeSource([channel(1n, 100n, HEAD), channel(2n, 200n, HEAD)]);
    const r = await runClaims(deps(chain, source), { all: true });
    expect(summary(r)).toEqual([
      [1n, "claimed"],
      [2n, "failed"],
    ]);
    expect(r.outcomes[1]!.reason).toBe(
      'The contract function "channelClaim" reverted with the following reason: Invalid signature',
    );
    expect(exitFor(r)).toBe(5);
  });

  test("a transaction sent without a receipt is never resent in the same run; the next run sees it pending", async () => {
    const chain = fakeChain({ 1: 0n, 2: 0n }, { multi: "no-receipt" });
    const { source, state } = fakeSource([channel(1n, 100n, HEAD), channel(2n, 200n, HEAD)]);
    const r = await runClaims(deps(chain, source), { all: true });
    expect(summary(r)).toEqual([
      [1n, "failed"],
      [2n, "failed"],
    ]);
    expect(r.outcomes.map((x) => x.tx)).toEqual([`0x${"1".padStart(64, "0")}`, `0x${"1".padStart(64, "0")}`]);
    expect(chain.sent).toHaveLength(1);
    expect(state.inProgress).toHaveLength(2);

    const again = await runClaims(deps(chain, source), {});
    expect(summary(again)).toEqual([
      [1n, "failed"],
      [2n, "failed"],
    ]);
    expect(again.outcomes[0]!.reason).toBe(
      "a claim transaction for this payment is not mined yet; the next run confirms it",
    );
    expect(chain.sent).toHaveLength(1);

    // Mined: the run after that reports it without sending anything.
    for (const [id, n] of chain.pending) chain.latest.set(id, n);
    const done = await runClaims(deps(chain, source), {});
    expect(summary(done)).toEqual([
      [1n, "already-claimed"],
      [2n, "already-claimed"],
    ]);
    expect(done.claimedAmount).toBe(0n);
    expect(chain.sent).toHaveLength(1);
    expect(exitFor(done)).toBe(0);
  });

  test("StartClaim failing mid-way: what did start is submitted, the rest is reported failed", async () => {
    const chain = fakeChain({ 1: 0n, 2: 0n });
    const { source } = fakeSource([channel(1n, 100n, HEAD), channel(2n, 200n, HEAD)], [], { failStartAt: 2n });
    const r = await runClaims(deps(chain, source), { all: true });
    expect(summary(r)).toEqual([
      [2n, "failed"],
      [1n, "claimed"],
    ]);
    expect(r.outcomes[0]!.reason).toContain("could not start the claim: authorized amount is zero");
    expect(exitFor(r)).toBe(5);
  });
});
