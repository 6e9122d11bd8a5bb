// A process service sold through snetd (issue 11, protocol/upstreams.md#process): service_type "process" in the
// published metadata, `executable_path` a real shell script run once per call with the method name as
// its argument, the request message on stdin and the reply on stdout. Echo's request and reply share
// their first two fields, so `cat` is an echo service. A failing run is never charged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { startDaemon } from "../kit/daemon.ts";
import { call, patternBytes } from "../kit/echo-service.ts";
import { type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 60_000;

const SCRIPT = `#!/bin/sh
# snetd process service: $1 = method, stdin = request message, stdout = reply message.
case "$1" in
  Echo) exec cat ;;
  Fail) cat >/dev/null; echo "the model crashed" >&2; exit 3 ;;
  *) echo "no method $1" >&2; exit 2 ;;
esac
`;

let dir: string;
let world: World;
let snetd: PaidDaemon;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "snetd-process-"));
  writeFileSync(join(dir, "service.sh"), SCRIPT, { mode: 0o755 });
  world = await startWorld({ serviceType: "process" });
  snetd = await startPaidDaemon(world, { executable_path: join(dir, "service.sh") });
}, 120_000);

afterAll(async () => {
  await snetd?.stop();
  await world?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("escrow", () => {
  test(
    "each paid call runs the script once; its output is the reply",
    async () => {
      await snetd.daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const r = await call(snetd.echo, "Echo", { text: "from a process" }, ch.pay(world.price));
        expect(r.status.code).toBe(grpc.status.OK);
        expect(r.response?.text).toBe("from a process");
        expect((await snetd.state(ch)).amount).toBe(world.price);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a request larger than a pipe buffer (the reference hung on these) goes through",
    async () => {
      const ch = await world.openFundedChannel();
      const payload = patternBytes(300 * 1024);
      const r = await call(snetd.echo, "Echo", { payload }, ch.pay(world.price));
      expect(r.status.code).toBe(grpc.status.OK);
      expect(Buffer.from(r.response!.payload).equals(payload)).toBe(true);
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a run that exits non-zero is INTERNAL with its exit status and stderr, and is not charged",
    async () => {
      const ch = await world.openFundedChannel();
      const md = ch.pay(world.price);
      const r = await call(snetd.echo, "Fail", { code: 1 }, md);
      expect(r.status.code).toBe(grpc.status.INTERNAL);
      expect(r.status.details).toBe("process failed: exit status 3; output=the model crashed\n");
      expect((await snetd.state(ch)).amount).toBe(0n);
      expect((await call(snetd.echo, "Echo", { text: "same payment" }, md)).response?.text).toBe("same payment");
    },
    E2E_TIMEOUT_MS,
  );
});

test(
  "a process service without a runnable executable_path does not start",
  async () => {
    const missing = await startDaemon({
      config: world.daemonConfig({ executable_path: join(dir, "missing.sh") }),
      expectExit: true,
    });
    expect((await missing.waitExit()).code).toBe(2);
    expect(missing.logs()).toContain(
      `executable_path "${join(dir, "missing.sh")}" cannot be run (ENOENT), expected an executable file`,
    );
    await missing.stop();
    const unset = await startDaemon({ config: world.daemonConfig(), expectExit: true });
    expect((await unset.waitExit()).code).toBe(2);
    expect(unset.logs()).toContain("executable_path is not set");
    await unset.stop();
  },
  E2E_TIMEOUT_MS,
);
