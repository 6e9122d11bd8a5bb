/**
 * The one reader and writer of channel records: the stored record merged with the chain
 * (docs/protocol/payments.md). In steady state a paid call reads only the store; the chain is read on
 * first sight of a channel and when the stored state cannot explain a payment. Every change of a channel
 * record — a payment, a token's planned amount, a claim, a dead nonce — is a `commit` here.
 */
import { type ChannelState, type PaymentInClaim, fromChain, isUnknownOnChain, mergeWithChain } from "../core/channel.ts";
import { foreignGroup, foreignRecipient, storeUnavailable } from "../core/messages/payments.ts";
import type { Address } from "../core/signatures.ts";
import type { MpeReader } from "../chain/mpe.ts";
import type { ChannelFreshness } from "../chain/mpe-events.ts";
import { type Compare, type Operation, type Store, StoreUnavailableError } from "../store/contract.ts";
import { type Keys, decodeChannel, decodeClaim, encodeChannel } from "../store/records.ts";

export interface ChannelBookDeps {
  store: Store;
  keys: Keys;
  mpe: MpeReader;
  /** Group binding: channels of other groups or recipients are not ours. */
  groupIdHex: `0x${string}`;
  paymentAddress: Address;
  /** Which stored channels the chain may have changed (MPE events); absent = trust the store. */
  freshness?: ChannelFreshness;
}

export interface LoadedChannel {
  state: ChannelState;
  /** Store version of the record; 0n when only the chain knows the channel. */
  version: bigint;
}

/** Reads of the record per load while writing back a dead nonce; each lost race means another writer made progress. */
const WRITE_BACK_ATTEMPTS = 3;

/** Store failures become UNAVAILABLE naming what failed: payments fail closed and the client may retry. */
export async function storeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw storeUnavailable(what, err.message, err);
    throw err;
  }
}

/** More of the same transaction as a channel commit: other records changed with it, atomically. */
export interface CommitExtras {
  /** Compares besides the channel record's version (e.g. the prepaid usage record). */
  compare?: readonly Compare[];
  /** Operations besides the channel put (slot release, claim record, prepaid usage). */
  ops?: readonly Operation[];
}

/** The channel book of one payment group. */
export function channelBook(d: ChannelBookDeps) {
  const readChain = async (id: bigint) => {
    const chain = await d.mpe.channel(id);
    if (isUnknownOnChain(chain)) return undefined;
    if (chain.recipient !== d.paymentAddress) {
      throw foreignRecipient(id, chain.recipient, d.paymentAddress);
    }
    if (chain.groupId !== d.groupIdHex) {
      throw foreignGroup(id, chain.groupId, d.groupIdHex);
    }
    return chain;
  };

  // Decoding a record (JSON, hex signature) showed in the paid-call profile; the stored text rarely
  // changes between two calls on a channel, so the last decoding per channel is reused when it matches.
  const decoded = new Map<string, { text: string; state: ChannelState }>();
  const decode = (key: string, text: string): ChannelState => {
    const hit = decoded.get(key);
    if (hit && hit.text === text) return hit.state;
    const state = decodeChannel(text);
    if (decoded.size >= 10_000) decoded.clear();
    decoded.set(key, { text, state });
    return state;
  };

  /** Writes `state` iff the record is still at `version`; extras ride in the same transaction. */
  const commit = (id: bigint, version: bigint, state: ChannelState, extra: CommitExtras = {}): Promise<boolean> =>
    storeCall("store channel", () =>
      d.store.commit({
        compare: [{ key: d.keys.channel(id), version }, ...(extra.compare ?? [])],
        then: [{ op: "put", key: d.keys.channel(id), value: encodeChannel(state) }, ...(extra.ops ?? [])],
      }),
    );

  return {
    /** Undefined when neither the store nor the chain knows the channel. */
    async load(id: bigint, opts: { refreshFromChain?: boolean } = {}): Promise<LoadedChannel | undefined> {
      const entry = await storeCall("read channel", () => d.store.get(d.keys.channel(id)));
      if (!entry) {
        const token = d.freshness?.readToken() ?? 0;
        const chain = await readChain(id);
        if (chain) d.freshness?.markFresh(id, token);
        return chain ? { state: fromChain(id, chain), version: 0n } : undefined;
      }
      const stored = decode(entry.key, entry.value);
      const stale = d.freshness !== undefined && !d.freshness.isFresh(id);
      if (!opts.refreshFromChain && !stale) return { state: stored, version: entry.version };
      const token = d.freshness?.readToken() ?? 0;
      let chain: Awaited<ReturnType<typeof readChain>>;
      try {
        chain = await readChain(id);
      } catch (err) {
        // Stored and chain unreadable → stored, unless the caller needs the chain.
        if (opts.refreshFromChain) throw err;
        return { state: stored, version: entry.version };
      }
      if (!chain) return { state: stored, version: entry.version };
      let current = entry;
      for (let attempt = 1; ; attempt++) {
        const record = current === entry ? stored : decode(current.key, current.value);
        const merged = mergeWithChain(record, chain);
        // Fresh only once the store agrees with the chain: marked before a write-back that then failed,
        // the dead nonce would be trusted (and paid at) until the next MPE event for the channel.
        if (merged.nonce === record.nonce) {
          d.freshness?.markFresh(id, token);
          return { state: merged, version: current.version };
        }
        // Claimed on-chain without StartClaim: the stored nonce is dead. Record that at once, so no
        // replica accepts a payment nobody could claim. A lost race means another writer (maybe a
        // payment at the dead nonce) moved the record: merge again with what it wrote.
        if (attempt === WRITE_BACK_ATTEMPTS) return { state: merged, version: current.version };
        await commit(id, current.version, merged);
        const again = await storeCall("read channel", () => d.store.get(d.keys.channel(id)));
        if (!again) return { state: fromChain(id, chain), version: 0n };
        current = again;
      }
    },

    commit,

    /** The stored record alone (no chain read): what StartClaim and the treasurer work from. */
    async stored(id: bigint): Promise<LoadedChannel | undefined> {
      const entry = await storeCall("read channel", () => d.store.get(d.keys.channel(id)));
      return entry ? { state: decode(entry.key, entry.value), version: entry.version } : undefined;
    },

    /** Every stored channel of the group, in channel id order. */
    async list(): Promise<ChannelState[]> {
      const entries = await storeCall("list channels", () => d.store.list(d.keys.channels));
      return entries.map((e) => decode(e.key, e.value));
    },

    async claimsOf(id: bigint): Promise<{ payment: PaymentInClaim; version: bigint; key: string }[]> {
      const entries = await storeCall("read claims", () => d.store.list(d.keys.claimsOf(id)));
      return entries.map((e) => ({ payment: decodeClaim(e.value), version: e.version, key: e.key }));
    },

    readChain,
  };
}
export type ChannelBook = ReturnType<typeof channelBook>;
