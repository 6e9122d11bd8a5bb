// Generated garbage against a real dist/snetd (issue 16): anvil with the real contracts, the example echo
// service counting its calls, escrow, prepaid and free calls all enabled, the embedded store on disk.
// Hostile payment headers, bodies and daemon requests over gRPC (HTTP/2) and gRPC-Web (HTTP/1.1, binary and
// text) must each be refused with a clear status, and afterwards the store must hold exactly what it held
// before, the service must not have been called once, and the daemon must still serve a correct payment.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { sqliteStore } from "../../src/store/sqlite.ts";
import { encodeBinaryHeader } from "../../src/transport/metadata.ts";
import { type DaemonProcess, ensureBinary, startDaemon } from "../kit/daemon.ts";
import { echoOnce } from "../kit/paid-daemon.ts";
import { type Channel, startWorld, type World } from "../kit/world.ts";
import {
  type Answer,
  DAEMON_PATHS,
  ECHO_PATHS,
  garbageBody,
  garbageMetadata,
  grpcWebRequest,
  h2Request,
} from "./daemon-wire.ts";
import { check } from "./fuzz-kit.ts";

const FREE_CALL_SIGNER = generatePrivateKey();
const SECRET = "fuzz-prepaid-secret-0123456789-0123456789";
/** The INTERNAL texts the catalogue uses for the reference's sake; any other INTERNAL is a crash leaking out. */
const CATALOGUE_INTERNAL =
  /^internal error: (free call token expired|free call limit has been exceeded|Usage Exceeded)/;

let world: World;
let daemon: DaemonProcess;
let dataDir: string;
let session: http2.ClientHttp2Session;
let ch: Channel;

beforeAll(async () => {
  await ensureBinary();
  world = await startWorld({ freeCallSignerAddress: privateKeyToAccount(FREE_CALL_SIGNER).address, freeCalls: 3 });
  dataDir = mkdtempSync(join(tmpdir(), "snetd-fuzz-daemon-"));
  daemon = await startDaemon({
    config: world.daemonConfig({
      data_dir: dataDir,
      block_cache_ms: 0,
      token_secret_key: SECRET,
      private_key_for_free_calls: FREE_CALL_SIGNER,
      log: { level: "warn" },
    }),
    binary: true,
  });
  ch = await world.openFundedChannel();
  // One genuine payment, so the store holds a channel for the garbage to try to change.
  expect((await echoOnce(daemon.endpoint, ch.pay(world.price))).status.code).toBe(grpc.status.OK);
  session = http2.connect(daemon.url);
}, 120_000);

afterAll(async () => {
  session?.close();
  await daemon?.stop();
  await world?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Every key, value and version the store holds, read through a read-only connection beside the daemon. */
async function storeSnapshot(): Promise<string[]> {
  const store = sqliteStore({ path: join(dataDir, "snetd-state.sqlite"), readOnly: true });
  try {
    return (await store.list("")).map((e) => `${e.key} v${e.version} ${e.value}`);
  } finally {
    await store.close();
  }
}

/** A refusal a client can act on: a gRPC status that is not OK, not UNKNOWN, and not an INTERNAL crash. */
function expectClearRefusal(a: Answer, what: string, okAllowed = false): void {
  const shown = `${what} → HTTP ${a.httpStatus} grpc-status ${a.grpcStatus} "${a.grpcMessage}"`;
  if (a.httpStatus === 200) expect(a.grpcStatus, shown).toBeDefined();
  if (a.grpcStatus === undefined) return;
  if (!okAllowed) expect(a.grpcStatus, shown).not.toBe(grpc.status.OK);
  expect(a.grpcStatus, shown).not.toBe(grpc.status.UNKNOWN);
  if (a.grpcStatus === grpc.status.INTERNAL) expect(a.grpcMessage, shown).toMatch(CATALOGUE_INTERNAL);
  expect(a.grpcMessage, shown).not.toContain("    at ");
}

/** Escrow headers for `amount` signed correctly by the channel's client, as the wire carries them. */
const signedHeaders = (amount: bigint, nonce = 0n): Record<string, string> =>
  Object.fromEntries(
    Object.entries(ch.pay(amount, nonce)).map(([k, v]) => [k, typeof v === "string" ? v : encodeBinaryHeader(v)]),
  );

describe("garbage against a running daemon", () => {
  let before: { store: string[]; calls: number };

  beforeAll(async () => {
    before = { store: await storeSnapshot(), calls: world.echo.calls };
    expect(before.store.length).toBeGreaterThan(0);
  });

  test("payment headers no client signed, over gRPC, several at once: refused before the service", async () => {
    const request = fc.tuple(fc.constantFrom(...ECHO_PATHS), garbageMetadata(ch.id), garbageBody);
    await check(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 6 }), async (batch) => {
        const answers = await Promise.all(batch.map(([path, md, body]) => h2Request(session, path, md, body)));
        for (const [i, a] of answers.entries())
          expectClearRefusal(a, `${batch[i]?.[0]} ${JSON.stringify(batch[i]?.[1])}`);
      }),
      300,
    );
  }, 120_000);

  test("payments that are signed but wrong (amount, nonce, channel, signer, one header changed) are refused", async () => {
    const tamper = fc.oneof(
      // Any cumulative amount except exactly one price more than stored.
      fc
        .bigInt({ min: 0n, max: 10n ** 6n })
        .filter((a) => a !== 2n * world.price)
        .map((a) => signedHeaders(a)),
      fc.bigInt({ min: 1n, max: 2n ** 64n }).map((n) => signedHeaders(2n * world.price, n)),
      fc.bigInt({ min: 0n, max: 2n ** 64n }).map((id) => ({
        ...signedHeaders(2n * world.price),
        "snet-payment-channel-id": (id === ch.id ? id + 1n : id).toString(),
      })),
      fc.bigInt({ min: 0n, max: 10n ** 6n }).map((a) => ({
        ...signedHeaders(2n * world.price),
        "snet-payment-channel-amount": (2n * world.price + 1n + a).toString(),
      })),
      fc.uint8Array({ minLength: 65, maxLength: 65 }).map((sig) => ({
        ...signedHeaders(2n * world.price),
        "snet-payment-channel-signature-bin": encodeBinaryHeader(sig),
      })),
      fc
        .constantFrom("prepaid-call", "free-call", "Escrow", "escrow,escrow")
        .map((t) => ({ ...signedHeaders(2n * world.price), "snet-payment-type": t })),
    );
    await check(
      fc.asyncProperty(tamper, async (md) => {
        expectClearRefusal(
          await h2Request(session, "/example.Echo/Echo", md, Uint8Array.of(0, 0, 0, 0, 0)),
          JSON.stringify(md),
        );
      }),
      400,
    );
  }, 120_000);

  test("garbage gRPC-Web requests, binary and text, over HTTP/1.1: refused before the service", async () => {
    await check(
      fc.asyncProperty(
        fc.constantFrom(...ECHO_PATHS, ...DAEMON_PATHS),
        garbageMetadata(ch.id),
        garbageBody,
        fc.boolean(),
        async (path, md, body, text) => {
          expectClearRefusal(
            await grpcWebRequest(daemon.url, path, md, body, text),
            `grpc-web ${text ? "text " : ""}${path}`,
            DAEMON_PATHS.includes(path),
          );
        },
      ),
      150,
    );
  }, 120_000);

  test("garbage requests to the daemon's own services: a clear status, never INTERNAL", async () => {
    await check(
      fc.asyncProperty(
        fc.constantFrom(...DAEMON_PATHS),
        garbageMetadata(ch.id),
        garbageBody,
        async (path, md, body) => {
          expectClearRefusal(await h2Request(session, path, md, body), path, true);
        },
      ),
      500,
    );
  }, 120_000);

  test("afterwards: the store is unchanged, the service was never called, and a correct payment is served", async () => {
    expect(await storeSnapshot()).toEqual(before.store);
    expect(world.echo.calls).toBe(before.calls);
    const heartbeat = await fetch(`${daemon.url}/heartbeat`);
    expect(heartbeat.status).toBe(200);
    await heartbeat.arrayBuffer();
    expect((await echoOnce(daemon.endpoint, ch.pay(2n * world.price))).status.code).toBe(grpc.status.OK);
    expect(world.echo.calls).toBe(before.calls + 1);
  });
});
