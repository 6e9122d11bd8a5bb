/** Worker thread of the embedded store: owns the write connection (see sqlite-writer.ts). */

import type { WorkerReply, WorkerRequest } from "./sqlite.ts";
import { openWriter, type SqliteWriter } from "./sqlite-writer.ts";

declare const self: { onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null; postMessage(m: WorkerReply): void };

let writer: SqliteWriter | undefined;

self.onmessage = (e) => {
  const m = e.data;
  try {
    switch (m.op) {
      case "open":
        writer = openWriter(m.path);
        return self.postMessage({ id: m.id, ok: true });
      case "batch":
        return self.postMessage({ id: m.id, ok: true, results: writer!.applyBatch(m.txns) });
      case "lease":
        return self.postMessage({ id: m.id, ok: true, lease: writer!.grantLease() });
      case "revoke":
        writer!.revokeLease(m.lease);
        return self.postMessage({ id: m.id, ok: true });
      case "close":
        writer?.close();
        writer = undefined;
        return self.postMessage({ id: m.id, ok: true });
    }
  } catch (err) {
    self.postMessage({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};
