/**
 * Writing an escrow payment (protocol/payments.md#escrow-settlement): the new authorised amount is stored
 * **before** the service runs — the call's one store transaction, which also proves the store can take
 * writes, so a call is never given away when it cannot — and given back if the service fails.
 *
 * When the store fails in a way that leaves the outcome of such a write unknown, `restore` makes the
 * record the uncharged state again: a fence at the expected version (it wins over a lost write, which
 * compared on the same version), else a write of the uncharged state over our own charge. It compares on
 * the record alone, not on the slot: if the slot was lost meanwhile, the record is still ours to restore
 * as long as nobody has written over our charge, and once somebody has, it is not.
 */
import type { ChannelState } from "../core/channel.ts";
import { Code, SnetError } from "../core/errors.ts";
import { bytesEqual } from "../core/numbers.ts";
import { StoreUnavailableError } from "../store/contract.ts";
import type { ChannelBook, CommitExtras } from "./channel-book.ts";

/** How long `restore` keeps trying: an etcd leader election or an outage, not a long partition. */
const RESTORE_BUDGET_MS = 120_000;
/** Retries soon after the store is back, before another replica may take the channel. */
const RESTORE_RETRY_MAX_MS = 500;

/** The store failed, and the write may still have been applied. */
export const outcomeUnknown = (err: unknown): err is SnetError =>
  err instanceof SnetError &&
  err.code === Code.UNAVAILABLE &&
  !(err.cause instanceof StoreUnavailableError && err.cause.outcome === "not-applied");

const same = (a: ChannelState, b: ChannelState) =>
  a.nonce === b.nonce &&
  a.authorisedAmount === b.authorisedAmount &&
  (a.signature === undefined
    ? b.signature === undefined
    : b.signature !== undefined && bytesEqual(a.signature, b.signature));

/**
 * Makes the stored record `target` again after a write of `wrong` at `version` whose outcome is unknown.
 * True once it is `target`; false when somebody else's write is there (not ours to undo) or the budget ran out.
 */
export async function restore(
  book: ChannelBook,
  id: bigint,
  version: bigint,
  target: ChannelState,
  wrong: ChannelState,
  extras: CommitExtras,
): Promise<boolean> {
  const started = Date.now();
  let expected = version;
  for (let attempt = 0; Date.now() - started < RESTORE_BUDGET_MS; attempt++) {
    try {
      if ((await book.commit(id, expected, target, extras)) !== undefined) return true;
      const now = await book.stored(id);
      if (!now) return false;
      if (same(now.state, target)) return true;
      if (!same(now.state, wrong)) return false;
      expected = now.version;
    } catch {
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, RESTORE_RETRY_MAX_MS)));
    }
  }
  return false;
}
