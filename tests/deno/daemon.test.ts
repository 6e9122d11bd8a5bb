/**
 * The daemon itself under Deno (issue #14): `deno task serve -c <file>` runs the same src/ in front of the
 * kit's echo service, with anvil, the real contracts and the test IPFS. One daemon with payments off for
 * the transparent proxy (headers, trailers, a service error's trailing metadata, gRPC-Web over a kept-alive
 * HTTP/1.1 connection); one paid daemon on the embedded SQLite store for an escrow call, GetChannelState,
 * prepaid and free calls, and `deno task snetd claim` through its control service; and one paid daemon
 * on etcd. Everything else runs under Bun in the other suites (SNETD_TEST_RUNTIME=deno runs any of them
 * under Deno too).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { channelOnChain, mpeBalance } from "../kit/client.ts";
import { FREE_CALL_SIGNER, PROVIDER } from "../kit/contracts.ts";
import { type DaemonProcess, runCli, startDaemon } from "../kit/daemon.ts";
import { denoTaskCommand } from "../kit/deno.ts";
import { call, echoClient, FAIL_TRAILERS } from "../kit/echo-service.ts";
import { type EtcdCluster, startEtcd } from "../kit/etcd.ts";
import { channelStateReply, decodeState, type StateRpc, stateRpc } from "../kit/paid-daemon.ts";
import { prepaidMetadata, prepaidToken } from "../kit/prepaid-token.ts";
import { startWorld, type World } from "../kit/world.ts";
import { freeCallClient, grpcWebEcho, newFreeUser } from "./clients.ts";

const FREE_CALLS = 3n;
const SECRET = "deno-e2e-prepaid-secret-0123456789-0123456789";
const SPEC_TIMEOUT_MS = 30_000;

let world: World;
let etcd: EtcdCluster;
let tmp: string;
let plain: DaemonProcess;
let paid: DaemonProcess;
let onEtcd: DaemonProcess;
const closers: { close(): void }[] = [];

/** `deno task serve -c <file>`: the task runs in the repository root, so every path in the config is absolute. */
const serveUnderDeno = (config: Record<string, unknown>) =>
  startDaemon({ command: denoTaskCommand("serve"), args: [], config });

function paidConfig(name: string, extra: Record<string, unknown> = {}) {
  return world.daemonConfig({
    data_dir: join(tmp, name),
    block_cache_ms: 0,
    log: { level: "info" },
    token_secret_key: SECRET,
    // Hex without 0x, as the reference takes it.
    private_key_for_free_calls: FREE_CALL_SIGNER.privateKey.slice(2),
    min_balance_for_free_call: 0,
    ...extra,
  });
}

function opened<T extends { close(): void }>(client: T): T {
  closers.push(client);
  return client;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "snetd-deno-"));
  [world, etcd] = await Promise.all([
    startWorld({ freeCallSignerAddress: FREE_CALL_SIGNER.address, freeCalls: Number(FREE_CALLS) }),
    startEtcd(),
  ]);
  [plain, paid, onEtcd] = await Promise.all([
    serveUnderDeno({
      blockchain_enabled: false,
      service_endpoint: `http://${world.echo.address}`,
      data_dir: join(tmp, "plain"),
      log: { level: "info" },
    }),
    serveUnderDeno(paidConfig("sqlite")),
    serveUnderDeno(
      paidConfig("etcd", {
        payment_channel_storage_type: "etcd",
        payment_channel_storage_client: { endpoints: etcd.endpoints },
      }),
    ),
  ]);
}, 90_000);

afterAll(async () => {
  for (const c of closers) c.close();
  await Promise.all([plain?.stop(), paid?.stop(), onEtcd?.stop()]);
  await etcd?.stop();
  await world?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 60_000);

describe("deno task serve, payments off", () => {
  const spec = (name: string, fn: () => Promise<void>) =>
    test(name, () => plain.showLogsOnFailure(fn), SPEC_TIMEOUT_MS);

  spec(
    "runs on Deno, with the native signer recovery where the addon exists (the task grants --allow-ffi for it)",
    async () => {
      const version = await runCli(["version", "--json"], { command: denoTaskCommand("snetd") });
      expect(version.code).toBe(0);
      const native = process.platform === "linux" && process.arch === "x64";
      expect(JSON.parse(version.stdout)).toMatchObject({
        runtime: expect.stringMatching(/^deno 2\./),
        signer_recovery: native ? "libsecp256k1" : "noble",
      });
    },
  );

  spec("passthrough: request metadata in, the service's response headers and trailers out", async () => {
    const client = opened(echoClient(plain.endpoint));
    const r = await call(
      client,
      "Echo",
      { text: "héllo" },
      { "x-request-id": "r-1", "x-trace-bin": Uint8Array.of(0, 255, 1) },
    );
    expect(r.status).toEqual({ code: grpc.status.OK, details: "OK" });
    expect(r.response?.text).toBe("héllo");
    expect(r.response?.metadata["x-request-id"]).toBe("r-1");
    expect(r.headers["x-service-header"]).toBe("yes");
    expect([...(r.headers["echo-x-trace-bin"] as Buffer)]).toEqual([0, 255, 1]);
    expect(r.trailers["x-service-trailer"]).toBe("done");
  });

  spec("a service error keeps its code, message and trailing metadata", async () => {
    const client = opened(echoClient(plain.endpoint));
    const r = await call(client, "Fail", { code: grpc.status.NOT_FOUND, message: "not here", send_headers: true });
    expect(r.status).toEqual({ code: grpc.status.NOT_FOUND, details: "not here" });
    expect(r.trailers["x-error-detail"]).toBe(FAIL_TRAILERS["x-error-detail"]);
    expect((r.trailers["x-error-detail-bin"] as Buffer).equals(FAIL_TRAILERS["x-error-detail-bin"])).toBe(true);
  });

  spec(
    "gRPC-Web over HTTP/1.1: the service's headers first, trailers in the last frame, the connection kept",
    async () => {
      // Three calls on fetch's kept-alive connection: Deno's node:http used to close it after the first.
      for (const text of ["one", "two", "three"]) {
        const r = await grpcWebEcho(plain.url, text, { "x-custom": text });
        expect(r.status).toBe(200);
        expect(r.headers["x-service-header"]).toBe("yes");
        expect(r.headers["echo-x-custom"]).toBe(text);
        expect(r.replies.map((m) => m.text)).toEqual([text]);
        expect(r.trailers).toMatchObject({ "grpc-status": "0", "x-service-trailer": "done" });
      }
    },
  );
  spec("150 calls on one connection, then the client closes it: the daemon keeps serving", async () => {
    // Deno 2.9's nghttp2 aborted the process on such a connection's GOAWAY (src/transport/runtime.ts).
    const client = echoClient(plain.endpoint);
    const results = await Promise.all(Array.from({ length: 150 }, (_, i) => call(client, "Echo", { text: `n${i}` })));
    expect(results.every((r, i) => r.status.code === grpc.status.OK && r.response?.text === `n${i}`)).toBe(true);
    client.close();
    const next = opened(echoClient(plain.endpoint));
    expect((await call(next, "Echo", { text: "still here" })).response?.text).toBe("still here");
  });
});

describe("deno task serve, payments on the embedded store", () => {
  const spec = (name: string, fn: () => Promise<void>) => test(name, () => paid.showLogsOnFailure(fn), SPEC_TIMEOUT_MS);
  let state: StateRpc;
  const channelState = async (ch: Parameters<typeof channelStateReply>[2]) =>
    decodeState(await channelStateReply(world, state, ch));

  beforeAll(() => {
    state = opened(stateRpc(paid.endpoint));
  });

  spec(
    "escrow: two paid calls, GetChannelState shows the last signed amount; an unpaid call never reaches the service; snetd claim",
    async () => {
      const client = opened(echoClient(paid.endpoint));
      const ch = await world.openFundedChannel();
      for (const amount of [world.price, 2n * world.price]) {
        const r = await call(client, "Echo", { text: "paid" }, ch.pay(amount));
        expect(r.status).toEqual({ code: grpc.status.OK, details: "OK" });
        expect(r.headers["echo-snet-user-address"]).toBe(ch.client.address);
        expect(r.trailers["x-service-trailer"]).toBe("done");
      }
      expect(await channelState(ch)).toMatchObject({ nonce: 0n, amount: 2n * world.price });
      const served = world.echo.calls;
      const unpaid = await call(client, "Echo", { text: "free ride" });
      expect(unpaid.status).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: 'missing "snet-payment-channel-id"',
      });
      expect(world.echo.calls).toBe(served);

      // `snetd claim` finds the running daemon and claims through its control service.
      const before = await mpeBalance(world.deployment, PROVIDER.address);
      const claim = await runCli(
        ["claim", "--channel-id", ch.id.toString(), "-y", "-c", join(paid.dir, "snetd.config.json")],
        {
          command: denoTaskCommand("snetd"),
          env: { SNET_PRIVATE_KEY: PROVIDER.privateKey },
        },
      );
      expect(claim.code, claim.stderr).toBe(0);
      expect(claim.stderr).toContain(`using the daemon at ${paid.endpoint}`);
      expect(claim.stdout).toContain(`claimed ${2n * world.price} cogs`);
      expect(await mpeBalance(world.deployment, PROVIDER.address)).toBe(before + 2n * world.price);
      expect((await channelOnChain(world.deployment, ch.id)).nonce).toBe(1n);
      expect(await channelState(ch)).toMatchObject({ nonce: 1n, amount: 0n });
      expect((await call(client, "Echo", { text: "new nonce" }, ch.pay(world.price, 1n))).status.code).toBe(
        grpc.status.OK,
      );
    },
  );

  spec("prepaid: a token for three calls pays three concurrent calls, the fourth is refused", async () => {
    const client = opened(echoClient(paid.endpoint));
    const ch = await world.openFundedChannel();
    const token = await prepaidToken(world, paid.endpoint, ch, 3n * world.price);
    const results = await Promise.all(
      [1, 2, 3].map((i) => call(client, "Echo", { text: `call ${i}` }, prepaidMetadata(ch.id, token))),
    );
    for (const r of results) expect(r.status).toEqual({ code: grpc.status.OK, details: "OK" });
    const over = await call(client, "Echo", { text: "one too many" }, prepaidMetadata(ch.id, token));
    expect(over.status).toEqual({
      code: grpc.status.INTERNAL,
      details: `internal error: Usage Exceeded on channel Id ${ch.id}`,
    });
    const reply = await channelStateReply(world, state, ch);
    expect({ planned: reply.plannedAmount, used: reply.usedAmount }).toEqual({
      planned: 3n * world.price,
      used: 3n * world.price,
    });
  });

  spec("free calls: a token from the daemon, a free call, one fewer left", async () => {
    const free = opened(freeCallClient(world, paid.endpoint));
    const user = newFreeUser();
    const token = await free.token(user);
    expect(await free.left(user, token)).toBe(FREE_CALLS);
    const r = await free.call(user, token);
    expect(r.status).toEqual({ code: grpc.status.OK, details: "OK" });
    expect(r.headers["echo-snet-user-address"]).toBe(user.address);
    expect(await free.left(user, token)).toBe(FREE_CALLS - 1n);
  });
});

describe("deno task serve, payments on etcd", () => {
  test(
    "a paid call is stored in etcd: GetChannelState answers it, the next payment builds on it",
    () =>
      onEtcd.showLogsOnFailure(async () => {
        const client = opened(echoClient(onEtcd.endpoint));
        const state = opened(stateRpc(onEtcd.endpoint));
        const ch = await world.openFundedChannel();
        expect((await call(client, "Echo", { text: "paid" }, ch.pay(world.price))).status.code).toBe(grpc.status.OK);
        expect(decodeState(await channelStateReply(world, state, ch))).toMatchObject({
          nonce: 0n,
          amount: world.price,
        });
        const replay = await call(client, "Echo", { text: "same amount again" }, ch.pay(world.price));
        expect(replay.status.code).not.toBe(grpc.status.OK);
        expect((await call(client, "Echo", { text: "paid" }, ch.pay(2n * world.price))).status.code).toBe(
          grpc.status.OK,
        );
        expect(onEtcd.logs()).toContain('store="etcd"');
      }),
    SPEC_TIMEOUT_MS,
  );
});

test(
  "SIGTERM: every daemon drains and exits 0",
  async () => {
    for (const c of closers.splice(0)) c.close();
    const codes = await Promise.all([plain, paid, onEtcd].map((d) => d.kill("SIGTERM")));
    expect(codes).toEqual([0, 0, 0]);
  },
  SPEC_TIMEOUT_MS,
);
