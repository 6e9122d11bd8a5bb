/**
 * Records of the prepaid and free-call features (protocol/state.md#values), with the encoding rules of
 * records.ts: JSON objects with `"v": 1`, integers as decimal strings, bytes as 0x-hex.
 *
 * - prepaid (key `keys.prepaid(channel id)`): planned P and used U of a channel. Per channel id, not per
 *   nonce, so the counters survive claims. A failed call gives its price back by lowering U (the
 *   reference keeps a separate refund R; the budget P + R − U is the same, and U then counts served calls).
 * - free call (key `keys.freeCall(freeCallUserKey(…))`): calls made by one user of one service; org and
 *   group are already in the key prefix.
 * - secret (key `keys.secret(name)`): a generated secret shared by every replica of the group.
 */
import { bytesToHex, hexToBytes } from "../core/numbers.ts";
import type { Address } from "../core/signatures.ts";
import { type Store, StoreUnavailableError } from "./contract.ts";
import { RECORD_VERSION } from "./records.ts";

function parse(kind: string, text: string): Record<string, unknown> {
  const obj = JSON.parse(text) as Record<string, unknown>;
  if (obj.v !== RECORD_VERSION)
    throw new Error(`${kind} record has encoding version ${String(obj.v)}, this snetd reads version ${RECORD_VERSION}`);
  return obj;
}

const big = (v: unknown) => BigInt(v as string);

export interface PrepaidUsage {
  /** P: the sum of every increment of the authorised amount made through GetToken. */
  planned: bigint;
  /** U: prices of the prepaid calls admitted and not given back. */
  used: bigint;
}

export const NO_PREPAID_USAGE: PrepaidUsage = { planned: 0n, used: 0n };

/** The stored text of a channel's prepaid usage. */
export function encodePrepaid(u: PrepaidUsage): string {
  return JSON.stringify({ v: RECORD_VERSION, planned: u.planned.toString(), used: u.used.toString() });
}

/** A channel's prepaid usage from its stored text. */
export function decodePrepaid(text: string): PrepaidUsage {
  const o = parse("prepaid", text);
  return { planned: big(o.planned), used: big(o.used) };
}

export interface FreeCallUsage {
  /** Lower-case: usage is counted per 20-byte address, never per spelling (protocol/reference-differences.md#d13). */
  address: Address;
  /** Empty unless a trusted signer asked for the token on behalf of a user. */
  userId: string;
  serviceId: string;
  made: bigint;
}

/** `<service>/<address>/<user id>`: listing `<service>/<address>/` finds every user id of an address. */
export function freeCallUserKey(serviceId: string, address: Address, userId: string): string {
  return `${freeCallAddressPrefix(serviceId, address)}${encodeURIComponent(userId)}`;
}

/** Key prefix of every user id of one address. */
export function freeCallAddressPrefix(serviceId: string, address: Address): string {
  return `${freeCallServicePrefix(serviceId)}${address.toLowerCase()}/`;
}

/** Key prefix of every free-call user of a service. */
export function freeCallServicePrefix(serviceId: string): string {
  return `${encodeURIComponent(serviceId)}/`;
}

/** The stored text of one user's free-call usage. */
export function encodeFreeCall(u: FreeCallUsage): string {
  return JSON.stringify({
    v: RECORD_VERSION,
    address: u.address,
    user_id: u.userId,
    service_id: u.serviceId,
    made: u.made.toString(),
  });
}

/** One user's free-call usage from its stored text. */
export function decodeFreeCall(text: string): FreeCallUsage {
  const o = parse("free call", text);
  return {
    address: o.address as Address,
    userId: o.user_id as string,
    serviceId: o.service_id as string,
    made: big(o.made),
  };
}

/** The stored text of a generated group secret. */
export function encodeSecret(secret: Uint8Array): string {
  return JSON.stringify({ v: RECORD_VERSION, secret: bytesToHex(secret) });
}

/** A generated group secret from its stored text. */
export function decodeSecret(text: string): Uint8Array {
  return hexToBytes(parse("secret", text).secret as string);
}

/** What one attempt of `updateRecord` decided: write `next` and return `result`, or return without writing. */
export type UpdateStep<T, R> = { next: T; result: R } | { result: R; next?: undefined };

export interface UpdateOptions {
  /** Conflicts tolerated before giving up with StoreUnavailableError. */
  maxAttempts?: number;
}

/**
 * Read-modify-write of one record as a compare-and-swap on its version, retried on conflict: many
 * callers may update the same record at once without a lock, and none of their updates is lost. `step`
 * sees the current value (undefined when absent) and may throw to refuse; it may run more than once.
 *
 * @example
 * await updateRecord(store, key, decodePrepaid, encodePrepaid, (u = NO_PREPAID_USAGE) => ({ next: { ...u, used: u.used + 1n }, result: undefined }));
 */
export async function updateRecord<T, R>(
  store: Store,
  key: string,
  decode: (text: string) => T,
  encode: (value: T) => string,
  step: (current: T | undefined) => UpdateStep<T, R>,
  opts: UpdateOptions = {},
): Promise<R> {
  const maxAttempts = opts.maxAttempts ?? 200;
  for (let attempt = 1; ; attempt++) {
    const entry = await store.get(key);
    const decided = step(entry ? decode(entry.value) : undefined);
    if (decided.next === undefined) return decided.result;
    const ok = await store.commit({
      compare: [{ key, version: entry?.version ?? 0n }],
      then: [{ op: "put", key, value: encode(decided.next) }],
    });
    if (ok) return decided.result;
    if (attempt >= maxAttempts)
      throw new StoreUnavailableError(`gave up updating "${key}" after ${attempt} conflicting writes`);
    await backoff(attempt);
  }
}

/** Jittered, capped: spreads retries of callers that collided so they do not collide again. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(2 ** Math.min(attempt, 6), 50);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
