/**
 * A replica's lasting identity, kept in its data_dir: slots it holds on etcd carry it, so a replica that
 * was killed and restarts takes its channels back at once instead of waiting for its old lease to expire.
 * A pid lock next to it (the embedded store's lock) keeps two live daemons from sharing one identity.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataDirInUse } from "../core/messages/startup.ts";
import { lockStoreFile } from "../store/sqlite-lock.ts";

export interface ReplicaId {
  readonly id: string;
  /** Releases the lock (at shutdown). */
  release(): void;
}

/** The replica id of `dataDir`, created (32 hex digits, mode 0600) on first use; locked while the daemon runs. */
export function replicaId(dataDir: string): ReplicaId {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, "replica-id");
  let release: () => void;
  try {
    release = lockStoreFile(file);
  } catch (err) {
    throw dataDirInUse(dataDir, (err as Error).message, err);
  }
  let id: string;
  try {
    id = readFileSync(file, "utf8").trim();
  } catch {
    id = "";
  }
  if (!/^[0-9a-f]{32}$/.test(id)) {
    id = randomBytes(16).toString("hex");
    writeFileSync(file, `${id}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return { id, release };
}
