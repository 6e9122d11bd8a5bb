/**
 * The one writer of prepaid usage records: planned P and used U of a channel (docs/protocol/payments.md).
 * Admission adds the price to U iff U + price ≤ P, as a compare-and-swap retried on conflict — no lock,
 * so any number of prepaid calls run at once on one channel. A failed service call gives its price back.
 * P only grows inside GetToken's channel commit (`plannedOps`), atomically with the signed amount.
 */
import { usageExceeded } from "../core/messages/tokens.ts";
import type { Compare, Operation, Store } from "../store/contract.ts";
import {
  decodePrepaid,
  encodePrepaid,
  NO_PREPAID_USAGE,
  type PrepaidUsage,
  updateRecord,
} from "../store/prepaid-records.ts";
import type { Keys } from "../store/records.ts";
import { storeCall } from "./channel-book.ts";

export interface PrepaidUsageDeps {
  store: Store;
  keys: Keys;
}

/** P and U of a channel with the record's version (zeros and version 0 before its first GetToken). */
export async function readUsage(
  d: PrepaidUsageDeps,
  channelId: bigint,
): Promise<{ usage: PrepaidUsage; version: bigint }> {
  const entry = await storeCall("read prepaid usage", () => d.store.get(d.keys.prepaid(channelId)));
  return entry
    ? { usage: decodePrepaid(entry.value), version: entry.version }
    : { usage: NO_PREPAID_USAGE, version: 0n };
}

/** The compare and put that raise P to `next`, for the channel commit of GetToken. */
export function plannedChange(
  d: PrepaidUsageDeps,
  channelId: bigint,
  read: { version: bigint },
  next: PrepaidUsage,
): { compare: Compare; op: Operation } {
  const key = d.keys.prepaid(channelId);
  return { compare: { key, version: read.version }, op: { op: "put", key, value: encodePrepaid(next) } };
}

/** U += price, refused with "Usage Exceeded" when that would pass P. */
export function reserve(d: PrepaidUsageDeps, channelId: bigint, price: bigint): Promise<void> {
  return storeCall("reserve prepaid usage", () =>
    updateRecord(d.store, d.keys.prepaid(channelId), decodePrepaid, encodePrepaid, (u = NO_PREPAID_USAGE) => {
      if (u.used + price > u.planned) throw usageExceeded(channelId);
      return { next: { ...u, used: u.used + price }, result: undefined };
    }),
  );
}

/**
 * U −= price after a failed call. A store failure here costs the client one price at most; the call has
 * already failed, so there is nothing better to report.
 */
export async function giveBack(d: PrepaidUsageDeps, channelId: bigint, price: bigint): Promise<void> {
  await updateRecord(d.store, d.keys.prepaid(channelId), decodePrepaid, encodePrepaid, (u = NO_PREPAID_USAGE) => ({
    next: { ...u, used: u.used >= price ? u.used - price : 0n },
    result: undefined,
  })).catch(() => undefined);
}
