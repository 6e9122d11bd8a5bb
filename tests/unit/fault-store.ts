/**
 * Test doubles for failures that a real backend cannot be made to produce on cue.
 *
 * `faultInjectingStoreMock` wraps a real store (normally `memoryStore()`) and, when told, fails the next commits
 * before they reach it, applies them and then throws (the "answer lost" case of protocol/reference-differences.md#d3),
 * fails reads, reports leases as lost, or holds a commit until the test lets it through. Everything it does not inject
 * is the inner store's real behaviour, so compare-and-swap and leases stay real.
 *
 * `fakeMpeReader` and `fakeBlockSource` stand in for the chain; the real chain is covered by the e2e
 * suites against anvil, these only let a unit test choose what the chain says (or that it is silent).
 */

import type { BlockSource, MpeReader } from "../../src/chain/mpe.ts";
import type { ChainChannel } from "../../src/core/channel.ts";
import { chainChannelUnreadable } from "../../src/core/messages/payments.ts";
import type { Address } from "../../src/core/signatures.ts";
import { type Lease, type Store, StoreUnavailableError, type Transaction } from "../../src/store/contract.ts";

export type CommitOutcome = "applied" | "refused" | "failed before applying" | "applied, answer lost";

export interface CommitRecord {
  txn: Transaction;
  outcome: CommitOutcome;
}

/** A commit held on its way to the inner store: `reached` resolves when it arrives, `release` lets it go. */
export interface HeldCommit {
  reached: Promise<Transaction>;
  release(): void;
}

export interface StoreFaults {
  /** The next `n` commits throw StoreUnavailableError without reaching the inner store. */
  failCommitsBefore(n: number): void;
  /** The next `n` commits are refused as never sent (a closed connection): not applied, and the store says so. */
  refuseCommits(n: number): void;
  /** The next `n` commits are applied to the inner store (or refused by it), then throw StoreUnavailableError. */
  failCommitsAfter(n: number): void;
  /** The next `n` reads (get, list) throw StoreUnavailableError. */
  failReads(n: number): void;
  /** The next `n` lease grants throw StoreUnavailableError. */
  failLeaseGrants(n: number): void;
  /** Every lease granted so far reports `lost` and its keys are dropped, as etcd does once it gives one up. */
  loseLeases(): Promise<void>;
  /** Holds the next commit before it reaches the inner store, so a test can interleave other writes. */
  holdNextCommit(): HeldCommit;
  /** Every commit that was attempted, in order, with what happened to it. */
  readonly commits: readonly CommitRecord[];
  /** Leases granted through the mock, in order. */
  readonly leases: readonly Lease[];
  /** Reads (get, list) that reached the mock, failed or not. */
  readonly reads: number;
}

// Commits fail as a timed-out etcd request does: the client cannot tell whether the store applied them.
const unavailableError = (what: string, outcome: "unknown" | "not-applied" = "not-applied") =>
  new StoreUnavailableError(`injected fault: ${what}${outcome === "unknown" ? ", the outcome is unknown" : ""}`, {
    outcome,
  });

/**
 * Wraps `inner` with switchable faults. A mock on purpose: only for failures no real store can be made
 * to produce at a chosen moment (etcd losing an answer mid-request, a lease given up after an outage).
 */
export function faultInjectingStoreMock(inner: Store): { store: Store; faults: StoreFaults } {
  let failBefore = 0;
  let failAfter = 0;
  let refuse = 0;
  let failReads = 0;
  let failGrants = 0;
  const holds: { reached: (t: Transaction) => void; gate: Promise<void> }[] = [];
  const commits: CommitRecord[] = [];
  const leases: Lease[] = [];
  const lostIds = new Set<bigint>();

  let reads = 0;
  const read = <T>(fn: () => Promise<T>): Promise<T> => {
    reads++;
    if (failReads > 0) {
      failReads--;
      return Promise.reject(unavailableError("read failed"));
    }
    return fn();
  };

  const store: Store = {
    kind: inner.kind,
    exclusive: inner.exclusive,
    get: (key) => read(() => inner.get(key)),
    list: (prefix) => read(() => inner.list(prefix)),
    ...(inner.watch ? { watch: inner.watch.bind(inner) } : {}),
    async commit(txn) {
      return (await store.transact(txn)).succeeded;
    },
    async transact(txn) {
      const hold = holds.shift();
      if (hold) {
        hold.reached(txn);
        await hold.gate;
      }
      if (failBefore > 0) {
        failBefore--;
        commits.push({ txn, outcome: "failed before applying" });
        throw unavailableError("commit failed before reaching the store", "unknown");
      }
      if (refuse > 0) {
        refuse--;
        commits.push({ txn, outcome: "failed before applying" });
        throw unavailableError("commit not sent");
      }
      const result = await inner.transact(txn);
      if (failAfter > 0) {
        failAfter--;
        commits.push({ txn, outcome: result.succeeded ? "applied, answer lost" : "refused" });
        throw unavailableError("commit answer lost", "unknown");
      }
      commits.push({ txn, outcome: result.succeeded ? "applied" : "refused" });
      return result;
    },
    async grantLease(ttlSeconds) {
      if (failGrants > 0) {
        failGrants--;
        throw unavailableError("lease grant failed");
      }
      const granted = await inner.grantLease(ttlSeconds);
      const lease: Lease = {
        id: granted.id,
        ttlSeconds: granted.ttlSeconds,
        get lost() {
          return lostIds.has(granted.id);
        },
        revoke: () => granted.revoke(),
      };
      leases.push(lease);
      return lease;
    },
    close: () => inner.close(),
  };

  const faults: StoreFaults = {
    get reads() {
      return reads;
    },
    failCommitsBefore: (n) => {
      failBefore = n;
    },
    refuseCommits: (n) => {
      refuse = n;
    },
    failCommitsAfter: (n) => {
      failAfter = n;
    },
    failReads: (n) => {
      failReads = n;
    },
    failLeaseGrants: (n) => {
      failGrants = n;
    },
    async loseLeases() {
      for (const l of leases) {
        if (lostIds.has(l.id)) continue;
        lostIds.add(l.id);
        await l.revoke();
      }
    },
    holdNextCommit() {
      let reached!: (t: Transaction) => void;
      let release!: () => void;
      const reachedP = new Promise<Transaction>((r) => (reached = r));
      const gate = new Promise<void>((r) => (release = r));
      holds.push({ reached, gate });
      return { reached: reachedP, release };
    },
    commits,
    leases,
  };
  return { store, faults };
}

/** A channel as `channels(id)` returns it for an id that was never opened. */
export const UNKNOWN_ON_CHAIN: ChainChannel = {
  nonce: 0n,
  sender: "0x0000000000000000000000000000000000000000",
  signer: "0x0000000000000000000000000000000000000000",
  recipient: "0x0000000000000000000000000000000000000000",
  groupId: `0x${"00".repeat(32)}`,
  value: 0n,
  expiration: 0n,
};

export interface FakeMpeReader extends MpeReader {
  /** What the chain says per channel id; absent ids read as never opened. */
  readonly channels: Map<bigint, ChainChannel>;
  /** When true every read fails as the real reader does when the node is unreachable. */
  unreachable: boolean;
  /** Channel reads made so far. */
  reads: number;
}

/** The chain side, faked: the real `mpeReader` runs against anvil in the e2e suites. */
export function fakeMpeReader(
  address: Address,
  token: Address = "0x5fbdb2315678afecb367f032d93f642f64180aa3",
): FakeMpeReader {
  const reader: FakeMpeReader = {
    address,
    channels: new Map(),
    unreachable: false,
    reads: 0,
    async channel(id) {
      reader.reads++;
      if (reader.unreachable) throw chainChannelUnreadable("fake chain is unreachable");
      return reader.channels.get(id) ?? UNKNOWN_ON_CHAIN;
    },
    async token() {
      return token;
    },
  };
  return reader;
}

/** A block source that reports `block` until the test moves it. */
export function fakeBlockSource(block: bigint): BlockSource & { block: bigint } {
  const source = {
    block,
    async head() {
      return source.block;
    },
    stop() {},
  };
  return source;
}
