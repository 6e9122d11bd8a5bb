/** Helpers shared by the store implementations. */
import type { Transaction } from "./contract.ts";

/** Whether every compare of `txn` holds, given the current version of a key (0n when absent). */
export function applies(txn: Transaction, versionOf: (key: string) => bigint): boolean {
  return txn.compare.every((c) => versionOf(c.key) === c.version);
}
