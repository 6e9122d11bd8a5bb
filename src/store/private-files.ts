/**
 * The embedded store's files hold every signed amount (and the generated prepaid token secret), so only
 * the daemon's user may read them: the directory is created 0700, the files 0600. SQLite gives its -wal
 * and -shm files the mode of the database file, so creating that one 0600 covers them; files an older
 * version left readable are tightened.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";

/** Owner-only permission bits of state files and their directory. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** Creates the directory of `path` (0700) and `path` itself (0600) when missing; tightens them to 0600. */
export function ensurePrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: DIR_MODE });
  closeSync(openSync(path, "a", FILE_MODE));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, FILE_MODE);
}
