/**
 * The embedded store: one SQLite file in WAL mode with durable (fsync'd) commits.
 *
 * Concurrent commits are grouped: every transaction submitted while the previous batch runs is applied
 * in the next single SQLite transaction, so 50 concurrent paid calls cost one fsync, not 50. Each
 * transaction in a batch still succeeds or fails on its own compares, exactly as if alone.
 * Leases die with the process: keys attached to a lease are removed when the store is opened again.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { type Entry, type Lease, type Store, StoreUnavailableError, type Transaction } from "./contract.ts";
import { applies } from "./txn.ts";

export interface SqliteStoreOptions {
  /** File path, or ":memory:". */
  path: string;
  /** Open read-only (for `snetd list` next to a running daemon). */
  readOnly?: boolean;
}

interface Pending {
  txn: Transaction;
  resolve: (ok: boolean) => void;
  reject: (err: unknown) => void;
}

type Row = { key: string; value: string; version: number | bigint; lease: number | bigint | null };

const toEntry = (r: Row): Entry => ({
  key: r.key,
  value: r.value,
  version: BigInt(r.version),
  ...(r.lease !== null ? { lease: BigInt(r.lease) } : {}),
});

export function sqliteStore(options: SqliteStoreOptions): Store {
  if (options.path !== ":memory:" && !options.readOnly) mkdirSync(dirname(options.path), { recursive: true });
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(options.path, { readOnly: options.readOnly ?? false });
  } catch (err) {
    throw new StoreUnavailableError(`cannot open the store file "${options.path}": ${(err as Error).message}`, { cause: err });
  }
  if (!options.readOnly) {
    db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, version INTEGER NOT NULL, lease INTEGER);
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('lease', 0);
      DELETE FROM kv WHERE lease IS NOT NULL;
    `);
  }
  const q = {
    get: db.prepare("SELECT key, value, version, lease FROM kv WHERE key = ?"),
    version: db.prepare("SELECT version FROM kv WHERE key = ?"),
    // Keys are compared as text; `prefix || char(0x10FFFF)` bounds the range without LIKE escaping.
    list: db.prepare("SELECT key, value, version, lease FROM kv WHERE key >= ? AND key < ? ORDER BY key"),
  } satisfies Record<string, StatementSync>;
  const w = options.readOnly
    ? undefined
    : {
        put: db.prepare("INSERT INTO kv (key, value, version, lease) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version, lease = excluded.lease"),
        del: db.prepare("DELETE FROM kv WHERE key = ?"),
        delLease: db.prepare("DELETE FROM kv WHERE lease = ?"),
        meta: db.prepare("SELECT value FROM meta WHERE name = ?"),
        setMeta: db.prepare("UPDATE meta SET value = ? WHERE name = ?"),
      };
  for (const s of [q.get, q.version, q.list]) s.setReadBigInts(true);
  w?.meta.setReadBigInts(true);

  let revision = w ? (w.meta.get("revision") as { value: bigint }).value : 0n;
  let queue: Pending[] = [];
  let scheduled = false;
  let closed = false;

  const versionOf = (key: string): bigint => {
    const row = q.version.get(key) as { version: bigint } | undefined;
    return row ? row.version : 0n;
  };

  function flush() {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0 || !w) return;
    const results: boolean[] = [];
    try {
      db.exec("BEGIN IMMEDIATE");
      for (const { txn } of batch) {
        if (!applies(txn, versionOf)) {
          results.push(false);
          continue;
        }
        revision++;
        for (const op of txn.then) {
          if (op.op === "delete") w.del.run(op.key);
          else w.put.run(op.key, op.value, revision, op.lease ?? null);
        }
        results.push(true);
      }
      w.setMeta.run(revision, "revision");
      db.exec("COMMIT");
    } catch (err) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // The transaction may not have started; nothing to undo.
      }
      revision = (w.meta.get("revision") as { value: bigint }).value;
      const failure = new StoreUnavailableError(`the store could not commit: ${(err as Error).message}`, { cause: err });
      for (const p of batch) p.reject(failure);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i] as boolean));
  }

  const ensureOpen = () => {
    if (closed) throw new StoreUnavailableError("the store is closed");
  };

  return {
    kind: "sqlite",
    exclusive: !options.readOnly,
    async get(key) {
      ensureOpen();
      const row = q.get.get(key) as Row | undefined;
      return row ? toEntry(row) : undefined;
    },
    async list(prefix) {
      ensureOpen();
      return (q.list.all(prefix, `${prefix}\u{10FFFF}`) as Row[]).map(toEntry);
    },
    commit(txn) {
      ensureOpen();
      if (!w) return Promise.reject(new StoreUnavailableError("the store was opened read-only"));
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ txn, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    async grantLease(ttlSeconds): Promise<Lease> {
      ensureOpen();
      if (!w) throw new StoreUnavailableError("the store was opened read-only");
      const id = (w.meta.get("lease") as { value: bigint }).value + 1n;
      w.setMeta.run(id, "lease");
      return {
        id,
        ttlSeconds,
        revoke: async () => {
          if (!closed) w.delLease.run(id);
        },
      };
    },
    async close() {
      if (closed) return;
      flush();
      closed = true;
      db.close();
    },
  };
}
