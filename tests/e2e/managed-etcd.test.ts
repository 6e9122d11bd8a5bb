// The managed etcd member end to end (issue 4, `payment_channel_storage_server`): two daemons, each
// starting its own member of one 2-member cluster, form that cluster with no separate setup and share
// payment state; stopping the daemons stops their members.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type DaemonProcess, ensureBinary, startDaemon } from "../kit/daemon.ts";
import { etcdBinary } from "../kit/etcd.ts";
import { type ChannelRef, channelState, echoOnce } from "../kit/paid-daemon.ts";
import { freePort } from "../kit/ports.ts";
import { startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 90_000;

let world: World;
let dir: string;
const daemons: DaemonProcess[] = [];

beforeAll(async () => {
  etcdBinary(); // fails loudly when etcd is not installed
  await ensureBinary();
  dir = mkdtempSync(join(tmpdir(), "snetd-managed-etcd-"));
  world = await startWorld();
}, 120_000);

afterAll(async () => {
  for (const d of daemons) await d.stop();
  await world?.stop();
  if (dir) {
    // A failed test may leave a member its killed daemon started; the tests check there is none otherwise.
    for (const pid of etcdProcessesUnder(dir)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Pids of running etcd processes whose command line mentions `path` (their data dir lives there). */
function etcdProcessesUnder(path: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const state = /^State:\s+(\w)/m.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1];
      if (state !== "Z" && /(^|\/)etcd$/.test(argv[0] ?? "") && argv.some((a) => a.startsWith(path)))
        pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

const authorised = async (d: DaemonProcess, ch: ChannelRef) => (await channelState(world, d.endpoint, ch)).amount;
const echoCall = (d: DaemonProcess, metadata: Record<string, string | Buffer>) => echoOnce(d.endpoint, metadata);

describe("payment_channel_storage_server", () => {
  test(
    "two daemons each start a member of one cluster, share payment state, and stop their members on exit",
    async () => {
      const members = [];
      for (const id of ["storage-a", "storage-b"])
        members.push({ id, clientPort: await freePort(), peerPort: await freePort() });
      const cluster = members.map((m) => `${m.id}=http://127.0.0.1:${m.peerPort}`).join(",");
      const token = `managed-${process.pid}-${Date.now()}`;
      const configs = members.map((m) =>
        world.daemonConfig({
          block_cache_ms: 0,
          data_dir: join(dir, `daemon-${m.id}`),
          payment_channel_storage_type: "etcd",
          // No client endpoints: each daemon talks to the member it started (serve fills them in).
          payment_channel_storage_server: {
            enabled: true,
            id: m.id,
            host: "127.0.0.1",
            client_port: m.clientPort,
            peer_port: m.peerPort,
            cluster,
            token,
            data_dir: join(dir, `${m.id}.etcd`),
            log_outputs: [join(dir, `${m.id}.log`)],
            startup_timeout: "30s",
          },
        }),
      );
      // A 2-member cluster has no quorum until both members run, so both daemons start together.
      const started = await Promise.allSettled(configs.map((config) => startDaemon({ config, binary: true })));
      for (const s of started) if (s.status === "fulfilled") daemons.push(s.value);
      for (const s of started) if (s.status === "rejected") throw s.reason;
      const [a, b] = daemons as [DaemonProcess, DaemonProcess];
      expect(etcdProcessesUnder(dir)).toHaveLength(2);

      await a.showLogsOnFailure(() =>
        b.showLogsOnFailure(async () => {
          const ch = await world.openFundedChannel();
          // Paid through A, seen by B: one cluster, one state.
          expect((await echoCall(a, ch.pay(world.price))).status.code).toBe(grpc.status.OK);
          expect(await authorised(b, ch)).toBe(world.price);
          // B continues from A's payment, and A sees B's; a replay of B's payment on A is refused.
          const second = ch.pay(2n * world.price);
          expect((await echoCall(b, second)).status.code).toBe(grpc.status.OK);
          expect(await authorised(a, ch)).toBe(2n * world.price);
          const before = world.echo.calls;
          expect((await echoCall(a, second)).status).toEqual({
            code: grpc.status.UNAUTHENTICATED,
            details: `income 0 does not equal to price ${world.price}`,
          });
          expect(world.echo.calls).toBe(before);
        }),
      );

      for (const d of daemons) await d.stop({ keepDir: true });
      expect(etcdProcessesUnder(dir)).toEqual([]);
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a daemon killed with SIGKILL leaves its member running; the restarted daemon takes it over, state intact",
    async () => {
      const clientPort = await freePort();
      const peerPort = await freePort();
      const memberDir = join(dir, "solo.etcd");
      const config = world.daemonConfig({
        block_cache_ms: 0,
        data_dir: join(dir, "daemon-solo"),
        payment_channel_storage_type: "etcd",
        payment_channel_storage_server: {
          enabled: true,
          id: "solo",
          client_port: clientPort,
          peer_port: peerPort,
          cluster: `solo=http://127.0.0.1:${peerPort}`,
          token: `managed-solo-${process.pid}-${Date.now()}`,
          data_dir: memberDir,
          log_outputs: [join(dir, "solo.log")],
        },
      });
      const first = await startDaemon({ config, binary: true });
      daemons.push(first);
      const ch = await world.openFundedChannel();
      await first.showLogsOnFailure(async () => {
        expect((await echoCall(first, ch.pay(world.price))).status.code).toBe(grpc.status.OK);
      });
      const member = etcdProcessesUnder(memberDir);
      expect(member).toHaveLength(1);
      expect(await first.kill("SIGKILL")).toBeNull();
      // Nothing in snetd stopped the member, so it still holds the ports a restart needs — unless the test
      // runner reaps orphans (`bun test --no-orphans`, as tests/run.sh runs it), which kills it here.
      const survived = etcdProcessesUnder(memberDir);
      if (survived.length === 0) {
        console.log(
          "note: the test runner reaped the orphaned etcd member; checking a restart on the same data dir instead of a take-over",
        );
      } else {
        expect(survived).toEqual(member);
      }

      const second = await startDaemon({ config, binary: true });
      daemons.push(second);
      await second.showLogsOnFailure(async () => {
        if (survived.length > 0)
          expect(second.logs()).toContain("stopping the etcd member a previous snetd left running");
        expect(etcdProcessesUnder(memberDir)).not.toContain(member[0]);
        expect(await authorised(second, ch)).toBe(world.price);
        expect((await echoCall(second, ch.pay(2n * world.price))).status.code).toBe(grpc.status.OK);
        expect(await authorised(second, ch)).toBe(2n * world.price);
      });
      await second.stop({ keepDir: true });
      expect(etcdProcessesUnder(dir)).toEqual([]);
    },
    E2E_TIMEOUT_MS,
  );
});
