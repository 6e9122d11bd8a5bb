/**
 * Reads and writes channel state: the stored record merged with the chain (payments.md §2). In steady
 * state a paid call reads only the store; the chain is read on first sight of a channel and when the
 * stored state cannot explain a payment (pitfalls.md #31).
 */
import { type ChannelState, type PaymentInClaim, fromChain, isUnknownOnChain, mergeWithChain } from "../core/channel.ts";
import { internal, unauthenticated, unavailable } from "../core/errors.ts";
import type { Address } from "../core/signatures.ts";
import type { MpeReader } from "../chain/mpe.ts";
import { type Operation, type Store, StoreUnavailableError } from "../store/contract.ts";
import { type Keys, decodeChannel, decodeClaim, encodeChannel } from "../store/records.ts";

export interface ChannelBookDeps {
  store: Store;
  keys: Keys;
  mpe: MpeReader;
  /** Group binding (payments.md §1): channels of other groups or recipients are not ours. */
  groupIdHex: `0x${string}`;
  paymentAddress: Address;
}

export interface LoadedChannel {
  state: ChannelState;
  /** Store version of the record; 0n when only the chain knows the channel. */
  version: bigint;
}

/** Store failures become UNAVAILABLE: payments fail closed and the client may retry. */
export async function storeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw unavailable(`payment state is unavailable (${what}): ${err.message}`, err);
    throw err;
  }
}

export function channelBook(d: ChannelBookDeps) {
  const readChain = async (id: bigint) => {
    const chain = await d.mpe.channel(id);
    if (isUnknownOnChain(chain)) return undefined;
    if (chain.recipient !== d.paymentAddress) {
      throw internal(`payment channel error: recipient ${chain.recipient} of channel ${id} is not the payment address ${d.paymentAddress} of this group`);
    }
    if (chain.groupId !== d.groupIdHex) {
      throw internal(`payment channel error: channel ${id} belongs to group ${chain.groupId}, this daemon serves ${d.groupIdHex}`);
    }
    return chain;
  };

  return {
    /** Undefined when neither the store nor the chain knows the channel. */
    async load(id: bigint, opts: { refreshFromChain?: boolean } = {}): Promise<LoadedChannel | undefined> {
      const entry = await storeCall("read channel", () => d.store.get(d.keys.channel(id)));
      if (!entry) {
        const chain = await readChain(id);
        return chain ? { state: fromChain(id, chain), version: 0n } : undefined;
      }
      const stored = decodeChannel(entry.value);
      if (!opts.refreshFromChain) return { state: stored, version: entry.version };
      const chain = await readChain(id);
      return { state: chain ? mergeWithChain(stored, chain) : stored, version: entry.version };
    },

    /** Writes `state` iff the record is still at `version`; extra operations ride in the same transaction. */
    commit(id: bigint, version: bigint, state: ChannelState, extra: readonly Operation[] = []): Promise<boolean> {
      return storeCall("store channel", () =>
        d.store.commit({
          compare: [{ key: d.keys.channel(id), version }],
          then: [{ op: "put", key: d.keys.channel(id), value: encodeChannel(state) }, ...extra],
        }),
      );
    },

    async claimsOf(id: bigint): Promise<{ payment: PaymentInClaim; version: bigint; key: string }[]> {
      const entries = await storeCall("read claims", () => d.store.list(d.keys.claimsOf(id)));
      return entries.map((e) => ({ payment: decodeClaim(e.value), version: e.version, key: e.key }));
    },

    readChain,
  };
}
export type ChannelBook = ReturnType<typeof channelBook>;

export const notFound = (id: bigint) => unauthenticated(`payment channel "{ID: ${id}}" not found`);
