// The embedded store's files are the daemon user's only (issue 16): its directory is created 0700, the
// database, its WAL and shared-memory files and the lock 0600, and a file an older version left readable
// by others is tightened when the store opens it.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sqliteStore } from "../../src/store/sqlite.ts";

const root = mkdtempSync(join(tmpdir(), "snetd-private-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;

describe("embedded store file permissions", () => {
  test("a new data_dir is 0700 and every file in it 0600, while the store runs", async () => {
    const dir = join(root, "fresh", "data");
    const path = join(dir, "snetd-state.sqlite");
    const store = sqliteStore({ path });
    try {
      expect(await store.commit({ compare: [], then: [{ op: "put", key: "k", value: "v" }] })).toBe(true);
      expect(mode(dir)).toBe(0o700);
      expect(mode(join(root, "fresh"))).toBe(0o700);
      for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}.lock`]) {
        expect(existsSync(file)).toBe(true);
        expect({ file, mode: mode(file) }).toEqual({ file, mode: 0o600 });
      }
    } finally {
      await store.close();
    }
  });

  test("a database file left world-readable is tightened to 0600 when opened", async () => {
    const path = join(root, "old.sqlite");
    writeFileSync(path, "");
    chmodSync(path, 0o644);
    const store = sqliteStore({ path });
    try {
      expect(mode(path)).toBe(0o600);
    } finally {
      await store.close();
    }
  });
});
