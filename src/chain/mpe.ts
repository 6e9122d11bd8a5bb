/**
 * The MultiPartyEscrow as the daemon reads it: `channels(id)`, the token, and a block-number cache so
 * the paid-call hot path never waits for an RPC (protocol/reference-differences.md#d27).
 */
import mpeAbiJson from "singularitynet-platform-contracts/abi/MultiPartyEscrow.json" with { type: "json" };
import { type Abi, createPublicClient, http, type PublicClient } from "viem";
import type { ChainChannel } from "../core/channel.ts";
import { chainChannelUnreadable, headUnknown } from "../core/messages/payments.ts";
import type { Address } from "../core/signatures.ts";

export const mpeAbi = mpeAbiJson as Abi;

export function chainClient(rpcUrl: string, opts: { apiKey?: string; timeoutMs?: number } = {}): PublicClient {
  const headers: Record<string, string> = {};
  if (opts.apiKey) {
    // protocol/config.md#networks: Infura URLs take the key as basic-auth password, everything else a bearer token.
    headers.authorization = rpcUrl.includes("infura.io") ? `Basic ${btoa(`:${opts.apiKey}`)}` : `Bearer ${opts.apiKey}`;
  }
  return createPublicClient({
    transport: http(rpcUrl, { timeout: opts.timeoutMs ?? 10_000, retryCount: 1, fetchOptions: { headers } }),
  });
}

export interface MpeReader {
  readonly address: Address;
  channel(id: bigint): Promise<ChainChannel>;
  token(): Promise<Address>;
}

export function mpeReader(client: PublicClient, address: Address): MpeReader {
  return {
    address,
    async channel(id) {
      try {
        const [nonce, sender, signer, recipient, groupId, value, expiration] = (await client.readContract({
          address,
          abi: mpeAbi,
          functionName: "channels",
          args: [id],
        })) as [bigint, string, string, string, `0x${string}`, bigint, bigint];
        return {
          nonce,
          sender: sender.toLowerCase() as Address,
          signer: signer.toLowerCase() as Address,
          recipient: recipient.toLowerCase() as Address,
          groupId: groupId.toLowerCase() as `0x${string}`,
          value,
          expiration,
        };
      } catch (err) {
        throw chainChannelUnreadable(shortError(err), err);
      }
    },
    async token() {
      return (
        (await client.readContract({ address, abi: mpeAbi, functionName: "token" })) as string
      ).toLowerCase() as Address;
    },
  };
}

export function shortError(err: unknown): string {
  const e = err as { shortMessage?: string; message?: string };
  return e.shortMessage ?? e.message ?? String(err);
}

export interface BlockSource {
  /** The latest block, at most `maxAgeMs` old; waits for the chain only when the cache is stale. */
  head(): Promise<bigint>;
  /**
   * The head read from the chain now, bypassing the cache: for the rare request the cached head cannot
   * explain (a client block ahead of it, see payments/freshness.ts). Optional so fakes may omit it.
   */
  latest?(): Promise<bigint>;
  stop(): void;
}

/**
 * Polls `eth_blockNumber` in the background so `head()` is almost always a cached value. A failing
 * chain is not hidden: once the cache is older than `staleAfterMs`, `head()` fails with UNAVAILABLE.
 */
export function blockSource(client: PublicClient, opts: { maxAgeMs: number; staleAfterMs?: number }): BlockSource {
  let cached: { block: bigint; at: number } | undefined;
  let inflight: Promise<bigint> | undefined;
  const staleAfter = opts.staleAfterMs ?? Math.max(30_000, opts.maxAgeMs * 10);

  const refresh = (): Promise<bigint> => {
    inflight ??= client
      .getBlockNumber({ cacheTime: 0 })
      .then((block) => {
        cached = { block, at: Date.now() };
        return block;
      })
      .finally(() => (inflight = undefined));
    return inflight;
  };
  const timer = setInterval(() => refresh().catch(() => {}), Math.max(100, opts.maxAgeMs));
  timer.unref?.();

  return {
    async head() {
      const now = Date.now();
      if (cached && now - cached.at <= opts.maxAgeMs) return cached.block;
      try {
        return await refresh();
      } catch (err) {
        if (cached && now - cached.at <= staleAfter) return cached.block;
        throw headUnknown(shortError(err), err);
      }
    },
    async latest() {
      try {
        return await refresh();
      } catch (err) {
        throw headUnknown(shortError(err), err);
      }
    },
    stop() {
      clearInterval(timer);
    },
  };
}
