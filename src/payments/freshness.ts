/** Block-stamped requests (signatures.md §1): accepted iff |current_block − head| ≤ window. */
import type { BlockSource } from "../chain/mpe.ts";
import { unauthenticated } from "../core/errors.ts";

export const BLOCK_WINDOW = 5n;

export async function requireFreshBlock(blocks: BlockSource, currentBlock: bigint, window = BLOCK_WINDOW): Promise<void> {
  let head = await blocks.head();
  // A client ahead of the cached head by more than the window means the cache lags the chain (fast
  // blocks, anvil automine), not that the client is wrong: ask the chain once before refusing.
  if (currentBlock > head + window && blocks.latest) head = await blocks.latest();
  const diff = currentBlock > head ? currentBlock - head : head - currentBlock;
  if (diff > window) throw unauthenticated("authentication failed as the signature passed has expired");
}
