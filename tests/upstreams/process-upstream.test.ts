/**
 * The process adapter with real scripts (protocol/upstreams.md#process): argv, stdin/stdout, large input
 * without the reference's pipe deadlock, stderr to the log, exit codes, the output cap, and the
 * deadline and cancel killing the whole process group.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "../../src/core/errors.ts";
import { processUpstream } from "../../src/transport/upstreams/process-upstream.ts";
import { refusal } from "../unit/refusal.ts";

let dir: string;
function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}
const call = (
  executable: string,
  message: Uint8Array,
  opts: {
    path?: string;
    timeoutMs?: number;
    signal?: AbortSignal;
    maxOutputBytes?: number;
    onStderr?: (l: string) => void;
  } = {},
) =>
  processUpstream({
    executable,
    maxOutputBytes: opts.maxOutputBytes ?? 4 * 1024 * 1024,
    ...(opts.onStderr ? { onStderr: opts.onStderr } : {}),
  }).call({
    path: opts.path ?? "/example.Calc/add",
    message,
    timeoutMs: opts.timeoutMs ?? 20_000,
    signal: opts.signal ?? new AbortController().signal,
  });
/** Running, not a zombie waiting for its (re)parent to reap it: a killed orphan may linger as one. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
};
async function waitDead(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await Bun.sleep(50);
  return !alive(pid);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "snetd-process-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("argv[1] is the method, stdin the request, stdout the reply; stderr goes to the log, not the reply", async () => {
  const exe = script("echo.sh", 'printf "%s:" "$1"; cat; echo "working on $1" >&2');
  const lines: string[] = [];
  const reply = await call(exe, new TextEncoder().encode("hello"), { onStderr: (l) => lines.push(l) });
  expect(new TextDecoder().decode(reply)).toBe("add:hello");
  expect(lines).toEqual(["working on add"]);
});

test("the method name reaches the program as one literal argument, never through a shell", async () => {
  const exe = script("arg.sh", 'printf "%s" "$1"');
  const lines: string[] = [];
  const reply = await call(exe, new Uint8Array(), {
    path: "/svc/$(echo injected >&2)",
    onStderr: (l) => lines.push(l),
  });
  expect(new TextDecoder().decode(reply)).toBe("$(echo injected >&2)");
  expect(lines).toEqual([]);
});

test("a 1 MiB request round-trips (the reference hung above 64 KiB)", async () => {
  const exe = script("cat.sh", "cat");
  const input = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
  const reply = await call(exe, input);
  expect(reply.length).toBe(input.length);
  expect(Buffer.from(reply).equals(Buffer.from(input))).toBe(true);
});

test("a non-zero exit is INTERNAL with the exit status and the output", async () => {
  const exe = script("fail.sh", 'printf "partial"; echo "bad input" >&2; exit 3');
  const err = await refusal(call(exe, new Uint8Array()));
  expect([err.code, err.message]).toEqual([Code.INTERNAL, "process failed: exit status 3; output=partialbad input\n"]);
});

test("a program killed by a signal reports it as Go does", async () => {
  const exe = script("term.sh", "kill -TERM $$");
  const err = await refusal(call(exe, new Uint8Array()));
  expect([err.code, err.message]).toEqual([Code.INTERNAL, "process failed: signal: terminated; output="]);
});

test("a program that cannot be run is INTERNAL and names it", async () => {
  const missing = join(dir, "missing");
  const err = await refusal(call(missing, new Uint8Array()));
  expect(err.code).toBe(Code.INTERNAL);
  expect(err.message).toStartWith(`process failed: cannot run "${missing}": `);
});

test("output over the cap kills the process: RESOURCE_EXHAUSTED", async () => {
  const pidFile = join(dir, "cap.pid");
  const exe = script("flood.sh", `echo $$ > ${pidFile}; while true; do head -c 65536 /dev/zero; done`);
  const err = await refusal(call(exe, new Uint8Array(), { maxOutputBytes: 1024 * 1024 }));
  expect([err.code, err.message]).toEqual([
    Code.RESOURCE_EXHAUSTED,
    "process failed: its output is larger than the 1048576-byte limit; the process was killed",
  ]);
  expect(await waitDead(Number(readFileSync(pidFile, "utf8")))).toBe(true);
});

test("the deadline kills a hanging program and the child it started", async () => {
  const pidFile = join(dir, "hang.pid");
  // The shell waits on a child sleep: killing only the shell would leave the sleep holding stdout.
  const exe = script("hang.sh", `sleep 60 & echo $! > ${pidFile}; wait`);
  const err = await refusal(call(exe, new Uint8Array(), { timeoutMs: 500 }));
  expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
  expect(await waitDead(Number(readFileSync(pidFile, "utf8")))).toBe(true);
});

test("the client's cancel kills the program", async () => {
  const pidFile = join(dir, "cancel.pid");
  const exe = script("wait.sh", `echo $$ > ${pidFile}; sleep 60`);
  const client = new AbortController();
  const pending = call(exe, new Uint8Array(), { signal: client.signal });
  for (let i = 0; i < 100; i++) {
    try {
      if (readFileSync(pidFile, "utf8").trim()) break;
    } catch {}
    await Bun.sleep(20);
  }
  client.abort();
  const err = await refusal(pending);
  expect([err.code, err.message]).toEqual([Code.CANCELLED, "cancelled by the client"]);
  expect(await waitDead(Number(readFileSync(pidFile, "utf8")))).toBe(true);
});
