/**
 * The one writer of free-call usage records: calls made per user of this service, reserved before a free
 * call is forwarded and given back when the service fails, each a compare-and-swap retried on conflict.
 * `snetd freecall` lists and resets them through the same functions.
 */
import { freeCallLimitExceeded } from "../core/messages/tokens.ts";
import type { Address } from "../core/signatures.ts";
import type { Store } from "../store/contract.ts";
import {
  decodeFreeCall,
  encodeFreeCall,
  type FreeCallUsage,
  freeCallAddressPrefix,
  freeCallServicePrefix,
  freeCallUserKey,
  updateRecord,
} from "../store/prepaid-records.ts";
import type { Keys } from "../store/records.ts";
import { storeCall } from "./channel-book.ts";

export interface FreeCallUsageDeps {
  store: Store;
  keys: Keys;
  serviceId: string;
}

const keyOf = (d: FreeCallUsageDeps, user: Address, userId: string) =>
  d.keys.freeCall(freeCallUserKey(d.serviceId, user, userId));
const fresh =
  (d: FreeCallUsageDeps, user: Address, userId: string) =>
  (u: FreeCallUsage | undefined): FreeCallUsage =>
    u ?? { address: user, userId, serviceId: d.serviceId, made: 0n };

/** Calls made so far by `user` as `userId`. */
export async function madeBy(d: FreeCallUsageDeps, user: Address, userId: string): Promise<bigint> {
  const entry = await storeCall("read free-call usage", () => d.store.get(keyOf(d, user, userId)));
  return entry ? decodeFreeCall(entry.value).made : 0n;
}

/** made += 1 iff made < allowed (undefined = unlimited); refused with the reference's limit text. */
export function reserveFreeCall(
  d: FreeCallUsageDeps,
  user: Address,
  userId: string,
  allowed: bigint | undefined,
): Promise<void> {
  const init = fresh(d, user, userId);
  return storeCall("reserve a free call", () =>
    updateRecord(d.store, keyOf(d, user, userId), decodeFreeCall, encodeFreeCall, (current) => {
      const u = init(current);
      if (allowed !== undefined && u.made >= allowed) throw freeCallLimitExceeded(u.made, allowed);
      return { next: { ...u, made: u.made + 1n }, result: undefined };
    }),
  );
}

/** made −= 1 after a failed call; if even this write fails, the user loses one free call. */
export async function giveBackFreeCall(d: FreeCallUsageDeps, user: Address, userId: string): Promise<void> {
  const init = fresh(d, user, userId);
  await updateRecord(d.store, keyOf(d, user, userId), decodeFreeCall, encodeFreeCall, (current) => {
    const u = init(current);
    return { next: { ...u, made: u.made > 0n ? u.made - 1n : 0n }, result: undefined };
  }).catch(() => undefined);
}

export interface UsageRow {
  usage: FreeCallUsage;
  key: string;
  version: bigint;
}

/** Usage of this service, of one address, or of one address and user id. */
export async function listUsage(d: FreeCallUsageDeps, address?: Address, userId?: string): Promise<UsageRow[]> {
  const prefix = d.keys.freeCall(
    address ? freeCallAddressPrefix(d.serviceId, address) : freeCallServicePrefix(d.serviceId),
  );
  const entries = await storeCall("list free-call usage", () => d.store.list(prefix));
  const rows = entries.map((e) => ({ usage: decodeFreeCall(e.value), key: e.key, version: e.version }));
  const matching = userId === undefined ? rows : rows.filter((r) => r.usage.userId === userId);
  // Asking about one address that never called: show it with nothing used, which answers "how many left".
  if (address && matching.length === 0) {
    const id = userId ?? "";
    return [
      { usage: { address, userId: id, serviceId: d.serviceId, made: 0n }, key: keyOf(d, address, id), version: 0n },
    ];
  }
  return matching;
}

/** Forgets one row's usage iff it is unchanged since listed; false when a call counted meanwhile. */
export function resetUsage(d: FreeCallUsageDeps, row: UsageRow): Promise<boolean> {
  return storeCall("reset free-call usage", () =>
    d.store.commit({ compare: [{ key: row.key, version: row.version }], then: [{ op: "delete", key: row.key }] }),
  );
}
