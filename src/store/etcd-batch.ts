/**
 * Group commit on etcd: the commits that arrive while one etcd Txn is on its way leave together as the
 * next one, each as a nested Txn (etcd 3.3+, `RequestOp.request_txn`) with its own compares and
 * operations. 50 concurrent paid calls then cost etcd a few requests per round trip instead of 50, and the
 * daemon an HTTP/2 stream per batch instead of per call.
 *
 * Each commit still applies or fails exactly as it would alone:
 * - etcd evaluates every nested compare before applying any operation, so a batch holds only commits whose
 *   keys (compared or written) are all different: none can see another's write, as none could have if
 *   sent alone at the same moment. A commit sharing a key with the forming batch starts the next one, so
 *   commits on one key keep their order.
 * - a commit alone in its batch is sent as a plain Txn, the request it always was;
 * - a batch etcd refused before proposing it (bad request, a lease gone, too many operations: nothing
 *   applied) is sent again one commit per Txn, so one commit's refusal stays its own;
 * - any other failure of a batch is every member's failure, with the same facts (an outcome unknown
 *   for all when the request may have reached etcd).
 */
import type { CommitResult, Transaction } from "./contract.ts";
import { commitOutcome, EtcdRequestError } from "./etcd-errors.ts";

/** How a batch reaches etcd: one commit as a plain Txn, several as one Txn of nested Txns (results in order). */
export interface TxnSender {
  one(txn: Transaction, deadline: number): Promise<CommitResult>;
  many(txns: readonly Transaction[], deadline: number): Promise<CommitResult[]>;
}

/**
 * Commits per batch. etcd bounds the operations at each level of a Txn (`--max-txn-ops`, default 128)
 * and gives a nested Txn what its parent leaves: 64 nested Txns of up to 64 operations each.
 */
export const MAX_BATCH = 64;

interface Pending {
  txn: Transaction;
  deadline: number;
  keys: readonly string[];
  resolve(result: CommitResult): void;
  reject(err: unknown): void;
}

const keysOf = (txn: Transaction): string[] => [...txn.compare.map((c) => c.key), ...txn.then.map((op) => op.key)];

/** A commit function that groups concurrent commits, one etcd request in flight at a time. */
export function groupCommits(send: TxnSender): (txn: Transaction, deadline: number) => Promise<CommitResult> {
  let queue: Pending[] = [];
  let sending = false;

  /** The longest prefix of the queue whose commits share no key, up to MAX_BATCH. */
  function nextBatch(): Pending[] {
    const seen = new Set<string>();
    let n = 0;
    for (; n < queue.length && n < MAX_BATCH; n++) {
      const keys = (queue[n] as Pending).keys;
      if (n > 0 && keys.some((k) => seen.has(k))) break;
      for (const k of keys) seen.add(k);
    }
    const batch = queue.slice(0, n);
    queue = queue.slice(n);
    return batch;
  }

  async function alone(p: Pending): Promise<void> {
    try {
      p.resolve(await send.one(p.txn, p.deadline));
    } catch (err) {
      p.reject(err);
    }
  }

  async function together(batch: Pending[]): Promise<void> {
    const deadline = Math.min(...batch.map((p) => p.deadline));
    let results: CommitResult[];
    try {
      results = await send.many(
        batch.map((p) => p.txn),
        deadline,
      );
    } catch (err) {
      // Refused before the proposal: nothing applied, so each commit may still be tried on its own.
      if (err instanceof EtcdRequestError && err.sent && commitOutcome(err) === "not-applied") {
        await Promise.all(batch.map(alone));
      } else {
        for (const p of batch) p.reject(err);
      }
      return;
    }
    for (const [i, p] of batch.entries()) p.resolve(results[i] as CommitResult);
  }

  async function drain(): Promise<void> {
    sending = true;
    while (queue.length > 0) {
      const batch = nextBatch();
      await (batch.length === 1 ? alone(batch[0] as Pending) : together(batch));
    }
    sending = false;
  }

  return (txn, deadline) =>
    new Promise<CommitResult>((resolve, reject) => {
      queue.push({ txn, deadline, keys: keysOf(txn), resolve, reject });
      if (!sending) void drain();
    });
}
