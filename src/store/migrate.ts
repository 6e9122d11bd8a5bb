/**
 * Copies payment state from one store to another (e.g. the embedded SQLite file into a replica group's
 * etcd) without ever overwriting what the target already holds.
 *
 * Each key is written with a create-if-absent compare, so running the migration next to a live target, or
 * twice, is safe: a key that appeared in the target meanwhile is compared, not clobbered. Leased keys
 * (in-flight call slots) belong to a running process and are not state, so they are never copied.
 *
 * @example
 * const { copied, conflicts } = await migrateStore(sqliteStore({ path }), await etcdStore(opts), "snetd/");
 */
import type { Store } from "./contract.ts";

export interface MigrateStoreOptions {
  /** Count what would be copied and which keys conflict, without writing. */
  dryRun?: boolean;
}

export interface MigrateStoreReturnType {
  /** Keys written to the target (or that would be, in a dry run). */
  copied: number;
  /** Leased keys, and keys already in the target with the same value. */
  skipped: number;
  /** Keys already in the target with a different value; left as they are in the target. */
  conflicts: string[];
}

/** Copies every unleased key under `prefix` that the target lacks; never overwrites. */
export async function migrateStore(
  from: Store,
  to: Store,
  prefix: string,
  opts: MigrateStoreOptions = {},
): Promise<MigrateStoreReturnType> {
  const result: MigrateStoreReturnType = { copied: 0, skipped: 0, conflicts: [] };
  const existing = new Map((await to.list(prefix)).map((e) => [e.key, e.value]));
  const compareWithTarget = (key: string, value: string, targetValue: string) => {
    if (targetValue === value) result.skipped++;
    else result.conflicts.push(key);
  };
  for (const entry of await from.list(prefix)) {
    if (entry.lease !== undefined) {
      result.skipped++;
      continue;
    }
    const there = existing.get(entry.key);
    if (there !== undefined) {
      compareWithTarget(entry.key, entry.value, there);
      continue;
    }
    if (opts.dryRun) {
      result.copied++;
      continue;
    }
    const created = await to.commit({
      compare: [{ key: entry.key, version: 0n }],
      then: [{ op: "put", key: entry.key, value: entry.value }],
    });
    if (created) {
      result.copied++;
      continue;
    }
    // Someone wrote the key after the target was listed.
    const now = await to.get(entry.key);
    if (now) compareWithTarget(entry.key, entry.value, now.value);
    else result.conflicts.push(entry.key);
  }
  return result;
}
