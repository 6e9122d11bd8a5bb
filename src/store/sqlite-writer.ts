/**
 * The write side of the embedded store: applies batches of transactions in one SQLite transaction each
 * (one fsync per batch). Runs on a worker thread (sqlite-worker.ts) so fsyncs never block the event loop
 * that proxies calls, or inline for runtimes and tools that want no thread.
 */
import { DatabaseSync } from "node:sqlite";
import type { Transaction } from "./contract.ts";
import { applies } from "./txn.ts";

export const SCHEMA = `
  PRAGMA journal_mode = WAL;
  PRAGMA busy_timeout = 5000;
  CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, version INTEGER NOT NULL, lease INTEGER);
  CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('lease', 0);
`;

export interface SqliteWriter {
  /** Per transaction: the revision it wrote at, or 0n when its compares failed. Throws when the batch failed. */
  applyBatch(txns: readonly Transaction[]): bigint[];
  grantLease(): bigint;
  revokeLease(id: bigint): void;
  close(): void;
}

/** Opens (creating) the SQLite file for writing, with WAL and full fsync. */
export function openWriter(path: string): SqliteWriter {
  return openWriterOn(new DatabaseSync(path));
}

/** A writer on an open connection (":memory:" stores share one connection for reads and writes). */
export function openWriterOn(db: DatabaseSync): SqliteWriter {
  db.exec(SCHEMA);
  // Durable: the commit returns after fsync (FULL), so an accepted payment survives a power cut too.
  db.exec("PRAGMA synchronous = FULL");
  const version = db.prepare("SELECT version FROM kv WHERE key = ?");
  const put = db.prepare(
    "INSERT INTO kv (key, value, version, lease) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version, lease = excluded.lease",
  );
  const del = db.prepare("DELETE FROM kv WHERE key = ?");
  const delLease = db.prepare("DELETE FROM kv WHERE lease = ?");
  const meta = db.prepare("SELECT value FROM meta WHERE name = ?");
  const setMeta = db.prepare("UPDATE meta SET value = ? WHERE name = ?");
  for (const s of [version, meta]) s.setReadBigInts(true);
  const readMeta = (name: string) => (meta.get(name) as { value: bigint }).value;
  const versionOf = (key: string) => (version.get(key) as { version: bigint } | undefined)?.version ?? 0n;

  return {
    applyBatch(txns) {
      let revision = readMeta("revision");
      const results: bigint[] = [];
      db.exec("BEGIN IMMEDIATE");
      try {
        for (const txn of txns) {
          if (!applies(txn, versionOf)) {
            results.push(0n);
            continue;
          }
          revision++;
          for (const op of txn.then) {
            if (op.op === "delete") del.run(op.key);
            else put.run(op.key, op.value, revision, op.lease ?? null);
          }
          results.push(revision);
        }
        setMeta.run(revision, "revision");
        db.exec("COMMIT");
      } catch (err) {
        try {
          db.exec("ROLLBACK");
        } catch {
          // Not started or already rolled back; nothing to undo.
        }
        throw err;
      }
      return results;
    },
    grantLease() {
      const id = readMeta("lease") + 1n;
      setMeta.run(id, "lease");
      return id;
    },
    revokeLease(id) {
      delLease.run(id);
    },
    close() {
      db.close();
    },
  };
}
