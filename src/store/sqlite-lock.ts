/**
 * One writer per SQLite file. The embedded store's slots and caches live in the writing process, so two
 * daemons on one data_dir could each admit the same payment; a lock file next to the database (holding the
 * writer's pid) makes the second one stop with a clear message. A lock left by a killed process (its pid
 * no longer runs) is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { StoreUnavailableError } from "./contract.ts";
import { FILE_MODE } from "./private-files.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, under another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock of `dbPath`; returns the function that releases it. */
export function lockStoreFile(dbPath: string): () => void {
  const lockPath = `${dbPath}.lock`;
  const mine = String(process.pid);
  try {
    const fd = openSync(lockPath, "wx", FILE_MODE);
    writeSync(fd, mine);
    closeSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new StoreUnavailableError(`cannot create the store lock "${lockPath}": ${(err as Error).message}`, {
        cause: err,
      });
    }
    const holder = Number.parseInt(readFileSync(lockPath, "utf8").trim(), 10);
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
      throw new StoreUnavailableError(
        `the store "${dbPath}" is in use by another process (pid ${holder}); one snetd writes a data_dir — stop the other one, use another data_dir, or etcd for several replicas (if no snetd runs, delete "${lockPath}")`,
      );
    }
    writeFileSync(lockPath, mine, { mode: FILE_MODE });
  }
  return () => {
    try {
      if (readFileSync(lockPath, "utf8").trim() === mine) unlinkSync(lockPath);
    } catch {
      // Already gone; nothing to release.
    }
  };
}
