/**
 * The embedded store: one SQLite file in WAL mode with durable (fsync'd) commits.
 *
 * Concurrent commits are grouped: every transaction submitted while a batch is being written goes into
 * the next single SQLite transaction, so 50 concurrent paid calls cost one fsync, not 50. Each
 * transaction in a batch still succeeds or fails on its own compares, exactly as if alone.
 * Writes run on a worker thread (sqlite-worker.ts), so an fsync never stalls the proxy's event loop;
 * reads run here on their own connection (WAL lets readers see every committed batch).
 * Leases die with the process: keys attached to a lease are removed when the store is opened again.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  type CommitResult,
  type Entry,
  type Lease,
  type Store,
  StoreUnavailableError,
  type Transaction,
} from "./contract.ts";
import { ensurePrivateFile } from "./private-files.ts";
import { lockStoreFile } from "./sqlite-lock.ts";
import { openWriter, openWriterOn, SCHEMA, type SqliteWriter } from "./sqlite-writer.ts";

export interface SqliteStoreOptions {
  /** File path, or ":memory:" (implies inline writes). */
  path: string;
  /** Open read-only (for `snetd list` next to a running daemon). */
  readOnly?: boolean;
  /** "worker" (default): writes on a worker thread; "inline": on this thread (tools, Deno tests). */
  writes?: "worker" | "inline";
}

export type WorkerRequest =
  | { id: number; op: "open"; path: string }
  | { id: number; op: "batch"; txns: Transaction[] }
  | { id: number; op: "lease" }
  | { id: number; op: "revoke"; lease: bigint }
  | { id: number; op: "close" };
export type WorkerReply =
  | { id: number; ok: true; results?: bigint[]; lease?: bigint }
  | { id: number; ok: false; error: string };

interface Pending {
  txn: Transaction;
  resolve: (result: CommitResult) => void;
  reject: (err: unknown) => void;
}

type Row = { key: string; value: string; version: number | bigint; lease: number | bigint | null };

const toEntry = (r: Row): Entry => ({
  key: r.key,
  value: r.value,
  version: BigInt(r.version),
  ...(r.lease !== null ? { lease: BigInt(r.lease) } : {}),
});

/** The write side, local or on a worker, behind one async interface. */
interface Writer {
  batch(txns: Transaction[]): Promise<bigint[]>;
  lease(): Promise<bigint>;
  revoke(lease: bigint): Promise<void>;
  close(): Promise<void>;
}

function inlineWriter(w: SqliteWriter): Writer {
  return {
    batch: async (txns) => w.applyBatch(txns),
    lease: async () => w.grantLease(),
    revoke: async (lease) => w.revokeLease(lease),
    close: async () => w.close(),
  };
}

/**
 * From source the worker sits next to this file; in a `bun build --compile` binary every module's
 * import.meta.url is the binary itself and the worker is embedded under the src/ root (build.ts).
 */
function workerUrl(): string {
  return import.meta.url.includes("$bunfs")
    ? new URL("./store/sqlite-worker.ts", import.meta.url).href
    : new URL("./sqlite-worker.ts", import.meta.url).href;
}

function workerWriter(path: string): Writer {
  const worker = new Worker(workerUrl(), { type: "module" });
  let nextId = 0;
  const waiting = new Map<number, { resolve: (r: WorkerReply & { ok: true }) => void; reject: (e: Error) => void }>();
  worker.onmessage = (e: MessageEvent<WorkerReply>) => {
    const w = waiting.get(e.data.id);
    waiting.delete(e.data.id);
    if (!w) return;
    if (e.data.ok) w.resolve(e.data);
    else w.reject(new Error(e.data.error));
  };
  worker.onerror = (e) => {
    for (const w of waiting.values()) w.reject(new Error(`the store's writer thread failed: ${e.message}`));
    waiting.clear();
  };
  const send = (m: Omit<WorkerRequest, "id"> & { op: WorkerRequest["op"] }) =>
    new Promise<WorkerReply & { ok: true }>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ ...m, id });
    });
  const opened = send({ op: "open", path } as WorkerRequest);
  return {
    batch: async (txns) => {
      await opened;
      return (await send({ op: "batch", txns } as WorkerRequest)).results ?? [];
    },
    lease: async () => {
      await opened;
      return (await send({ op: "lease" } as WorkerRequest)).lease ?? 0n;
    },
    revoke: async (lease) => {
      await opened;
      await send({ op: "revoke", lease } as WorkerRequest);
    },
    close: async () => {
      await opened.catch(() => {});
      await send({ op: "close" } as WorkerRequest).catch(() => {});
      worker.terminate();
    },
  };
}

/** The embedded store: SQLite in WAL mode, commits grouped on a writer thread. */
export function sqliteStore(options: SqliteStoreOptions): Store {
  const memory = options.path === ":memory:";
  if (!memory && !options.readOnly) ensurePrivateFile(options.path);
  // One writer per file (sqlite-lock.ts); readers (`snetd list`) need no lock.
  const unlock = memory || options.readOnly ? () => {} : lockStoreFile(options.path);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(options.path, { readOnly: options.readOnly ?? false });
    if (!options.readOnly) {
      db.exec(SCHEMA);
      // A new process owns no lease yet: whatever was leased belonged to a dead one.
      db.exec("DELETE FROM kv WHERE lease IS NOT NULL");
    }
  } catch (err) {
    unlock();
    throw new StoreUnavailableError(`cannot open the store file "${options.path}": ${(err as Error).message}`, {
      cause: err,
    });
  }
  const q = {
    get: db.prepare("SELECT key, value, version, lease FROM kv WHERE key = ?"),
    // Keys are compared as text; `prefix || U+10FFFF` bounds the range without LIKE escaping.
    list: db.prepare("SELECT key, value, version, lease FROM kv WHERE key >= ? AND key < ? ORDER BY key"),
  } satisfies Record<string, StatementSync>;
  for (const s of Object.values(q)) s.setReadBigInts(true);

  const writer: Writer | undefined = options.readOnly
    ? undefined
    : memory || options.writes === "inline"
      ? inlineWriter(memory ? openWriterOn(db) : openWriter(options.path))
      : workerWriter(options.path);

  let queue: Pending[] = [];
  let writing = false;
  let closed = false;

  // One batch in flight at a time; whatever arrives meanwhile forms the next batch.
  async function drain() {
    if (writing || !writer) return;
    writing = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        const results = await writer.batch(batch.map((p) => p.txn));
        batch.forEach((p, i) => {
          const revision = results[i] ?? 0n;
          p.resolve({ succeeded: revision > 0n, revision });
        });
      } catch (err) {
        // A failure inside COMMIT (a failed fsync) leaves the outcome to the next reader.
        const failure = new StoreUnavailableError(`the store could not commit: ${(err as Error).message}`, {
          cause: err,
          outcome: "unknown",
        });
        for (const p of batch) p.reject(failure);
      }
    }
    writing = false;
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
    async commit(txn) {
      return (await this.transact(txn)).succeeded;
    },
    transact(txn) {
      ensureOpen();
      if (!writer) return Promise.reject(new StoreUnavailableError("the store was opened read-only"));
      return new Promise<CommitResult>((resolve, reject) => {
        queue.push({ txn, resolve, reject });
        if (!writing) queueMicrotask(drain);
      });
    },
    async grantLease(ttlSeconds): Promise<Lease> {
      ensureOpen();
      if (!writer) throw new StoreUnavailableError("the store was opened read-only");
      const id = await writer.lease();
      return {
        id,
        ttlSeconds,
        revoke: async () => {
          if (!closed) await writer.revoke(id);
        },
      };
    },
    async close() {
      if (closed) return;
      while (writing || queue.length) await new Promise((r) => setTimeout(r, 1));
      closed = true;
      await writer?.close();
      db.close();
      unlock();
    },
  };
}
