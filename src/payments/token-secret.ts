/**
 * The group's prepaid token secret: `token_secret_key` when set (the configuration refuses the reference's
 * public default), else 32 random bytes generated on the first start and kept in the store, created only
 * if absent, so every replica of the group reads the same one.
 */
import { SECRET_BYTES } from "../core/prepaid-token.ts";
import type { Store } from "../store/contract.ts";
import { decodeSecret, encodeSecret } from "../store/prepaid-records.ts";
import { storeCall } from "./channel-book.ts";

/** The secret and where it came from; when two replicas race on first start, both end up with the winner's. */
export async function tokenSecret(
  store: Store,
  key: string,
  configured: string | undefined,
): Promise<{ secret: Uint8Array; source: "configured" | "stored" | "generated" }> {
  if (configured !== undefined && configured !== "")
    return { secret: new TextEncoder().encode(configured), source: "configured" };
  for (;;) {
    const entry = await storeCall("read token secret", () => store.get(key));
    if (entry) return { secret: decodeSecret(entry.value), source: "stored" };
    const secret = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
    const created = await storeCall("store token secret", () =>
      store.commit({ compare: [{ key, version: 0n }], then: [{ op: "put", key, value: encodeSecret(secret) }] }),
    );
    if (created) return { secret, source: "generated" };
  }
}
