/**
 * `snetd serve` sizes its JS heap like a mid-size host's, whatever the host's RAM (src/ops/heap-sizing.ts):
 * the process it was started as runs with BUN_JSC_forceRAMSize set, both as the compiled binary and from
 * source, and an operator's own value is kept. Read from /proc/<pid>/environ, the environment the running
 * process image was started with.
 */
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { HEAP_SIZING_RAM } from "../../src/ops/heap-sizing.ts";
import { type DaemonProcess, ensureBinary, startDaemon } from "../kit/daemon.ts";

const config = { service_endpoint: "http://127.0.0.1:9", blockchain_enabled: false };
const started: DaemonProcess[] = [];
const onLinux = existsSync("/proc/self/environ");
if (!onLinux) console.log("skipped: heap sizing is read from /proc/<pid>/environ, which this system does not have");

beforeAll(async () => {
  await ensureBinary();
}, 120_000);
afterEach(async () => {
  for (const d of started.splice(0)) await d.stop();
});

/** BUN_JSC_forceRAMSize as the running image of `pid` was started with it. */
function heapSizingOf(pid: number): string | undefined {
  const entry = readFileSync(`/proc/${pid}/environ`, "latin1")
    .split("\0")
    .find((e) => e.startsWith("BUN_JSC_forceRAMSize="));
  return entry?.slice("BUN_JSC_forceRAMSize=".length);
}

describe.skipIf(!onLinux)("heap sizing of snetd serve", () => {
  for (const binary of [true, false]) {
    test(`${binary ? "dist/snetd" : "bun src/main.ts"} serves from the pid it was started as, told ${HEAP_SIZING_RAM} bytes of RAM`, async () => {
      const daemon = await startDaemon({ config, binary });
      started.push(daemon);
      expect(heapSizingOf(daemon.pid)).toBe(HEAP_SIZING_RAM);
      expect((await fetch(`${daemon.url}/heartbeat`)).status).toBe(200);
    }, 60_000);
  }

  test("an operator's own BUN_JSC_forceRAMSize is kept", async () => {
    const daemon = await startDaemon({ config, binary: true, env: { BUN_JSC_forceRAMSize: "4294967296" } });
    started.push(daemon);
    expect(heapSizingOf(daemon.pid)).toBe("4294967296");
  }, 60_000);
});
