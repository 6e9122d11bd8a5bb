/**
 * The one storage contract every payment-state backend implements (embedded SQLite, etcd, memory).
 *
 * Modelled on etcd: every key carries a `version` (its modification revision, > 0 while it exists) and
 * every change is one transaction guarded by compares on versions. Payment logic only ever writes
 * through `commit`, so "a payment is never accepted twice" reduces to "a compare-and-swap loses".
 * Values are UTF-8 text (versioned JSON records, see records.ts).
 */
import { Code, SnetError } from "../core/errors.ts";

export interface Entry {
  key: string;
  value: string;
  /** Modification revision of the key; strictly increases on every write. */
  version: bigint;
  /** Lease the key is attached to, if any (the key disappears when the lease expires). */
  lease?: bigint;
}

/** `version: 0n` means "the key must not exist". */
export interface Compare {
  key: string;
  version: bigint;
}

export type Operation = { op: "put"; key: string; value: string; lease?: bigint } | { op: "delete"; key: string };

export interface Transaction {
  compare: readonly Compare[];
  then: readonly Operation[];
}

/** What a transaction did: whether its compares held, and the store revision it wrote at. */
export interface CommitResult {
  succeeded: boolean;
  /** The version every key the transaction put now has; meaningless when it did not succeed. */
  revision: bigint;
}

export interface Lease {
  readonly id: bigint;
  readonly ttlSeconds: number;
  /**
   * True once the store says it has given the lease up (etcd answers a renewal with TTL <= 0: expired or
   * revoked); its keys are gone and nothing renews it again, so a holder takes a new lease. An etcd that
   * cannot be reached does not make a lease lost: only etcd knows.
   * Absent on stores whose leases live as long as the process (memory, SQLite).
   */
  readonly lost?: boolean;
  /** Ends the lease now and deletes its keys. */
  revoke(): Promise<void>;
}

/**
 * A change of a watched key: its new entry, or its deletion (also by lease expiry). Or `compacted`: a
 * broken watch could not resume where it stopped because etcd had compacted that history away, so changes
 * before `revision` may be missed; the listener re-reads what it watches (`list`). Events go on from there.
 */
export type WatchEvent =
  | { type: "put"; entry: Entry }
  | { type: "delete"; key: string }
  | { type: "compacted"; revision: bigint };

export interface Watcher {
  /** Stops delivering events. */
  close(): void;
}

export interface Store {
  /** "sqlite" and "memory" are owned by one process; "etcd" is shared by a replica group. */
  readonly kind: "sqlite" | "etcd" | "memory";
  /** True when this process is the only writer, so a read-through cache of its own writes is exact. */
  readonly exclusive: boolean;
  get(key: string): Promise<Entry | undefined>;
  /** Every key starting with `prefix`, in key order. */
  list(prefix: string): Promise<Entry[]>;
  /** Applies `then` atomically iff every compare holds; returns whether it did. */
  commit(txn: Transaction): Promise<boolean>;
  /** `commit`, also telling the revision written at, so a writer can compare on its own write next time. */
  transact(txn: Transaction): Promise<CommitResult>;
  /** A lease kept alive by the store until revoked or the process dies. */
  grantLease(ttlSeconds: number): Promise<Lease>;
  /**
   * Calls `listener` for every change under `prefix` made after the watch started, in revision order,
   * until closed; a watch that breaks is re-established by the store from the last revision it saw.
   * Shared stores (etcd) must implement it; a store owned by one process may omit it.
   */
  watch?(prefix: string, listener: (event: WatchEvent) => void): Promise<Watcher>;
  close(): Promise<void>;
}

/**
 * Whether a failed commit may still have been applied: "not-applied" when the request provably never
 * took effect (never sent, refused, rolled back), "unknown" when its answer was lost. Reads are always
 * "not-applied". The payment layer refuses the call either way and, for "unknown", gives the charge back
 * in the background (payments/escrow-charge.ts restore) while the channel's slot stays held.
 */
export type CommitOutcome = "not-applied" | "unknown";

/** Thrown by a store that cannot reach its backend; the payment layer maps it to UNAVAILABLE. */
export class StoreUnavailableError extends SnetError {
  override readonly name = "StoreUnavailableError";
  readonly outcome: CommitOutcome;
  constructor(message: string, options: { cause?: unknown; outcome?: CommitOutcome } = {}) {
    super(Code.UNAVAILABLE, message, options.cause === undefined ? {} : { cause: options.cause });
    this.outcome = options.outcome ?? "not-applied";
  }
}
