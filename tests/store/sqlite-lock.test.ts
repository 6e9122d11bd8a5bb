// One writer per embedded store file: a second process is refused, a dead holder's lock is taken over.
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { sqliteStore } from "../../src/store/sqlite.ts";

const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), "snetd-lock-"));
  dirs.push(dir);
  return join(dir, "state.sqlite");
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("a second process cannot open the store for writing while the first holds it; after close it can", async () => {
  const path = fresh();
  const holder = Bun.spawn({
    cmd: [
      process.execPath,
      "-e",
      `const { sqliteStore } = await import(${JSON.stringify(resolve(import.meta.dir, "../../src/store/sqlite.ts"))}); const s = sqliteStore({ path: ${JSON.stringify(path)} }); console.log("ready"); await new Promise((r) => process.stdin.once("data", r)); await s.close(); console.log("closed");`,
    ],
    stdin: "pipe",
    stdout: "pipe",
  });
  const reader = holder.stdout.getReader();
  const decoder = new TextDecoder();
  let out = "";
  while (!out.includes("ready")) out += decoder.decode((await reader.read()).value);
  expect(() => sqliteStore({ path })).toThrow(`is in use by another process (pid ${holder.pid})`);
  // Readers (snetd list) need no lock.
  const readOnly = sqliteStore({ path, readOnly: true });
  expect(await readOnly.list("/")).toEqual([]);
  await readOnly.close();
  holder.stdin.write("go\n");
  holder.stdin.end();
  await holder.exited;
  expect(existsSync(`${path}.lock`)).toBe(false);
  const after = sqliteStore({ path });
  expect(await after.commit({ compare: [], then: [{ op: "put", key: "k", value: "v" }] })).toBe(true);
  await after.close();
}, 30_000);

test("a lock left by a process that no longer runs is taken over", async () => {
  const path = fresh();
  const dead = Bun.spawnSync({ cmd: ["true"] }).pid;
  writeFileSync(`${path}.lock`, String(dead));
  const store = sqliteStore({ path });
  expect(await store.commit({ compare: [], then: [{ op: "put", key: "k", value: "v" }] })).toBe(true);
  await store.close();
  expect(existsSync(`${path}.lock`)).toBe(false);
});
