/** ERC-20 reads of the payment token (balance rule of free calls), cached so a call costs no RPC. */
import { erc20Abi, type PublicClient } from "viem";
import { balanceUnreadable } from "../core/messages/tokens.ts";
import { type Address, checksumAddress } from "../core/signatures.ts";
import { shortError } from "./mpe.ts";

/** Balances of `token` per address, cached for `ttlMs`; a failed read is UNAVAILABLE. */
export function tokenBalances(
  client: PublicClient,
  token: () => Promise<Address>,
  ttlMs = 300_000,
): (address: Address) => Promise<bigint> {
  const cache = new Map<Address, { value: bigint; at: number }>();
  let tokenAddress: Promise<Address> | undefined;
  return async (address) => {
    const hit = cache.get(address);
    if (hit && Date.now() - hit.at < ttlMs) return hit.value;
    try {
      tokenAddress ??= token();
      const value = await client.readContract({
        address: await tokenAddress,
        abi: erc20Abi,
        functionName: "balanceOf",
        args: [address],
      });
      if (cache.size > 100_000) cache.clear();
      cache.set(address, { value, at: Date.now() });
      return value;
    } catch (err) {
      tokenAddress = undefined;
      throw balanceUnreadable(checksumAddress(address), shortError(err), err);
    }
  };
}

/** The token's `decimals()`. */
export function tokenDecimals(client: PublicClient, token: Address): Promise<number> {
  return client.readContract({ address: token, abi: erc20Abi, functionName: "decimals" });
}
