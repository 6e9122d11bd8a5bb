/**
 * The one reader and writer of channel records: the stored record merged with the chain
 * (docs/protocol/payments.md). In steady state a paid call reads only the store; the chain is read on
 * first sight of a channel and when the stored state cannot explain a payment. Every change of a channel
 * record — a payment, a token's planned amount, a claim, a dead nonce — is a `commit` here.
 */

import type { MpeReader } from "../chain/mpe.ts";
import type { ChannelFreshness } from "../chain/mpe-events.ts";
import {
  type ChannelState,
  fromChain,
  isUnknownOnChain,
  mergeWithChain,
  type PaymentInClaim,
} from "../core/channel.ts";
import { foreignGroup, foreignRecipient, storeUnavailable } from "../core/messages/payments.ts";
import type { Address } from "../core/signatures.ts";
import { type Compare, type Operation, type Store, StoreUnavailableError } from "../store/contract.ts";
import { decodeChannel, decodeClaim, encodeChannel, type Keys } from "../store/records.ts";

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
  /** The slot epoch the commit is made under (slots.ts): lets the book keep the record it wrote. */
  epoch?: number;
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

  /**
   * Records this process wrote or read while nobody else could write them: every record on a store this
   * process owns (SQLite), else only under a slot held since (same `epoch`). A hit saves the store read
   * and the decoding, the bulk of a paid call's store work besides its commit.
   */
  const own = new Map<bigint, LoadedChannel & { epoch: number | undefined }>();
  const cacheable = (epoch: number | undefined) => d.store.exclusive || epoch !== undefined;
  const remember = (id: bigint, loaded: LoadedChannel, epoch: number | undefined) => {
    if (!cacheable(epoch)) return;
    if (own.size >= 100_000) own.clear();
    own.set(id, { ...loaded, epoch });
  };

  /** The stored record: from the cache when it is still exact, else from the store. */
  const readStored = async (id: bigint, epoch: number | undefined): Promise<LoadedChannel | undefined> => {
    const hit = own.get(id);
    if (hit && (d.store.exclusive || hit.epoch === epoch)) return hit;
    const entry = await storeCall("read channel", () => d.store.get(d.keys.channel(id)));
    if (!entry) return undefined;
    const loaded = { state: decode(entry.key, entry.value), version: entry.version };
    remember(id, loaded, epoch);
    return loaded;
  };

  /**
   * Writes `state` iff the record is still at `version`; extras ride in the same transaction. The new
   * version when it did, undefined when the compares failed.
   */
  const commit = async (
    id: bigint,
    version: bigint,
    state: ChannelState,
    extra: CommitExtras = {},
  ): Promise<bigint | undefined> => {
    own.delete(id);
    const r = await storeCall("store channel", () =>
      d.store.transact({
        compare: [{ key: d.keys.channel(id), version }, ...(extra.compare ?? [])],
        then: [{ op: "put", key: d.keys.channel(id), value: encodeChannel(state) }, ...(extra.ops ?? [])],
      }),
    );
    if (!r.succeeded) return undefined;
    remember(id, { state, version: r.revision }, extra.epoch);
    return r.revision;
  };

  return {
    /**
     * The channel as payments must see it, undefined when neither the store nor the chain knows it.
     * `epoch`: the caller holds the channel's slot (slots.ts), so a cached record is exact and a dead
     * nonce may be written back; without it a shared store's record is read and never written.
     */
    async load(
      id: bigint,
      opts: { refreshFromChain?: boolean; epoch?: number } = {},
    ): Promise<LoadedChannel | undefined> {
      const entry = await readStored(id, opts.epoch);
      if (!entry) {
        const token = d.freshness?.readToken() ?? 0;
        const chain = await readChain(id);
        if (chain) d.freshness?.markFresh(id, token);
        return chain ? { state: fromChain(id, chain), version: 0n } : undefined;
      }
      const stale = d.freshness !== undefined && !d.freshness.isFresh(id);
      if (!opts.refreshFromChain && !stale) return entry;
      const token = d.freshness?.readToken() ?? 0;
      let chain: Awaited<ReturnType<typeof readChain>>;
      try {
        chain = await readChain(id);
      } catch (err) {
        // Stored and chain unreadable → stored, unless the caller needs the chain.
        if (opts.refreshFromChain) throw err;
        return entry;
      }
      if (!chain) return entry;
      let current = entry;
      for (let attempt = 1; ; attempt++) {
        const merged = mergeWithChain(current.state, chain);
        // Fresh only once the store agrees with the chain: marked before a write-back that then failed,
        // the dead nonce would be trusted (and paid at) until the next MPE event for the channel.
        if (merged.nonce === current.state.nonce) {
          d.freshness?.markFresh(id, token);
          return { state: merged, version: current.version };
        }
        // Claimed on-chain without StartClaim: the stored nonce is dead. Record that at once, so no
        // payment nobody could claim is accepted — by the slot's holder (a shared store's other readers
        // only report it). A lost race means another writer moved the record: merge again with what it wrote.
        if (attempt === WRITE_BACK_ATTEMPTS || !cacheable(opts.epoch))
          return { state: merged, version: current.version };
        if (
          (await commit(id, current.version, merged, {
            ...(opts.epoch !== undefined ? { epoch: opts.epoch } : {}),
          })) !== undefined
        ) {
          d.freshness?.markFresh(id, token);
          return own.get(id) ?? { state: merged, version: current.version };
        }
        own.delete(id);
        const again = await readStored(id, opts.epoch);
        if (!again) return { state: fromChain(id, chain), version: 0n };
        current = again;
      }
    },

    commit,

    /** The stored record alone (no chain read): what StartClaim and the treasurer work from. */
    stored: (id: bigint, epoch?: number): Promise<LoadedChannel | undefined> => readStored(id, epoch),

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
