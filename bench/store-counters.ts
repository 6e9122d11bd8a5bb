/**
 * Store work per paid call (target: one store transaction per successful call), read from outside the
 * daemon: the revision the SQLite store bumps once per applied transaction, and etcd's own per-method
 * request counters from its /metrics.
 */
import { DatabaseSync } from "node:sqlite";

/** The embedded store's revision (meta table, src/store/sqlite.ts); WAL mode lets a reader see commits. */
export function sqliteRevision(file: string): number {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const query = db.prepare("SELECT value FROM meta WHERE name = 'revision'");
    query.setReadBigInts(true);
    const row = query.get() as { value: bigint } | undefined;
    // A count of transactions, only ever divided into a per-call ratio.
    return row ? Number(row.value) : 0;
  } finally {
    db.close();
  }
}

/** etcd requests handled so far, by gRPC method (Range, Txn, Put, LeaseKeepAlive…), from /metrics. */
export async function etcdRequests(endpoint: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^grpc_server_handled_total\{([^}]*)\} (\S+)$/gm)) {
    const method = /grpc_method="([^"]+)"/.exec(match[1] as string)?.[1];
    if (method) counts[method] = (counts[method] ?? 0) + Number(match[2]);
  }
  return counts;
}
