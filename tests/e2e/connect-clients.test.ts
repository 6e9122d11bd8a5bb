// Connect unary calls from JavaScript without an SNet SDK (issue 13, docs/protocol/headers.md#connect):
// Connect-ES's own client (@connectrpc/connect-node) with an interceptor that sets the payment headers,
// real headless Chromium calling with fetch from a page on another origin (CORS preflight included),
// and how the daemon starts without the service's protos, without payments, or with connect_enabled off.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  type CallOptions,
  Code,
  ConnectError,
  createClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { bigintToMinimalBytes, bytesToBigint } from "../../src/core/numbers.ts";
import { PaymentChannelStateService } from "../../src/gen/state_service_pb.ts";
import { compileProtos } from "../../src/metadata/protos/compile.ts";
import { launchChromium } from "../kit/chromium.ts";
import { signChannelStateRequest } from "../kit/client.ts";
import { curl, curlHeaders } from "../kit/curl.ts";
import { type DaemonProcess, startDaemon } from "../kit/daemon.ts";
import { type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { freePort } from "../kit/ports.ts";
import { startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 60_000;
const CONNECT_ES = JSON.parse(
  readFileSync(join(import.meta.dir, "../../node_modules/@connectrpc/connect-node/package.json"), "utf8"),
).version as string;
const protos = compileProtos({ "echo.proto": readFileSync(join(import.meta.dir, "../kit/echo.proto"), "utf8") });
const Echo = protos.registry.getService("example.Echo")!;
const JSON_TYPE = { "content-type": "application/json" };

/** The client Connect-ES builds from the descriptor, typed by hand (a dApp would generate it with protoc-gen-es). */
interface EchoClient {
  echo(
    req: { text?: string; payload?: Uint8Array },
    opts?: CallOptions,
  ): Promise<{ text: string; payload: Uint8Array; metadata: Record<string, string> }>;
  fail(req: { code: number; message: string }, opts?: CallOptions): Promise<unknown>;
}
const echoClient = (t: Transport) => createClient(Echo, t) as unknown as EchoClient;

let world: World;
let paid: PaidDaemon;

beforeAll(async () => {
  world = await startWorld();
  paid = await startPaidDaemon(world);
}, 120_000);

afterAll(async () => {
  await paid?.stop();
  await world?.stop();
});

const spec = (name: string, fn: () => Promise<void>, daemon = () => paid.daemon) =>
  test(name, () => daemon().showLogsOnFailure(fn), E2E_TIMEOUT_MS);

describe(`Connect-ES ${CONNECT_ES} (@connectrpc/connect-node), no SNet SDK`, () => {
  /** A Connect-ES transport whose interceptor adds `payment()` to every request, as a dApp would. */
  const transport = (payment: () => Record<string, string>, o: { binary?: boolean } = {}) => {
    const pay: Interceptor = (next) => async (req) => {
      for (const [k, v] of Object.entries(payment())) req.header.set(k, v);
      return next(req);
    };
    return o.binary
      ? createConnectTransport({
          baseUrl: paid.daemon.url,
          httpVersion: "2",
          useBinaryFormat: true,
          interceptors: [pay],
        })
      : createConnectTransport({
          baseUrl: paid.daemon.url,
          httpVersion: "1.1",
          useBinaryFormat: false,
          interceptors: [pay],
        });
  };

  spec("JSON over HTTP/1.1: channel state, paid calls, trailers, and a refusal as a ConnectError", async () => {
    const ch = await world.openFundedChannel();
    let payment: Record<string, string> = {};
    const t = transport(() => payment);
    // The daemon's own service through its generated descriptor: the state a stateless client signs from.
    const state = createClient(PaymentChannelStateService, t);
    const head = await world.head();
    const before = await state.getChannelState({
      channelId: bigintToMinimalBytes(ch.id),
      signature: signChannelStateRequest(ch.client.privateKey, world.deployment.mpe, ch.id, head),
      currentBlock: head,
    });
    expect(bytesToBigint(before.currentNonce)).toBe(0n);
    expect(bytesToBigint(before.currentSignedAmount)).toBe(0n);

    const echo = echoClient(t);
    for (let i = 1n; i <= 2n; i++) {
      payment = curlHeaders(ch.pay(i * world.price));
      let trailers: Headers | undefined;
      let headers: Headers | undefined;
      const reply = await echo.echo(
        { text: `es ${i}` },
        { timeoutMs: 10_000, onHeader: (h) => (headers = h), onTrailer: (h) => (trailers = h) },
      );
      expect(reply.text).toBe(`es ${i}`);
      expect(reply.metadata["snet-user-address"]).toBe(ch.client.address);
      expect(headers?.get("x-service-header")).toBe("yes");
      expect(trailers?.get("x-service-trailer")).toBe("done");
    }
    expect((await paid.state(ch)).amount).toBe(2n * world.price);

    payment = curlHeaders(ch.pay(2n * world.price + 1n));
    const refused = await echo.echo({ text: "underpaid" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.Unauthenticated);
    expect((refused as ConnectError).rawMessage).toBe(`income 1 does not equal to price ${world.price}`);

    payment = curlHeaders(ch.pay(3n * world.price));
    const failed = await echo.fail({ code: 5, message: "no such thing" }).catch((e: unknown) => e);
    expect((failed as ConnectError).code).toBe(Code.NotFound);
    expect((failed as ConnectError).metadata.get("x-error-detail")).toBe("failure requested by the caller");
    expect((await paid.state(ch)).amount).toBe(2n * world.price);
  });

  spec("binary (application/proto) over HTTP/2", async () => {
    const ch = await world.openFundedChannel();
    const echo = echoClient(transport(() => curlHeaders(ch.pay(world.price)), { binary: true }));
    const reply = await echo.echo({ text: "binary", payload: Uint8Array.of(0, 255) });
    expect(reply.text).toBe("binary");
    expect([...reply.payload]).toEqual([0, 255]);
    expect((await paid.state(ch)).amount).toBe(world.price);
  });
});

describe("browsers: CORS for Connect calls", () => {
  const PAYMENT_HEADERS = [
    "snet-payment-type",
    "snet-payment-channel-id",
    "snet-payment-channel-nonce",
    "snet-payment-channel-amount",
    "snet-payment-channel-signature-bin",
  ];

  spec("a preflight allows the Connect and payment headers; replies expose metadata and trailers", async () => {
    const origin = "https://dapp.example";
    const requested = ["content-type", "connect-protocol-version", "connect-timeout-ms", ...PAYMENT_HEADERS].join(",");
    const pre = await fetch(`${paid.daemon.url}/example.Echo/Echo`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": requested },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe(origin);
    expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
    const allowed = (pre.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/,\s*/);
    for (const h of requested.split(",")) expect(allowed).toContain(h);
    expect(pre.headers.get("access-control-allow-credentials")).toBeNull();

    const ch = await world.openFundedChannel();
    const r = await fetch(`${paid.daemon.url}/example.Echo/Echo`, {
      method: "POST",
      headers: { origin, ...JSON_TYPE, "connect-protocol-version": "1", ...curlHeaders(ch.pay(world.price)) },
      body: JSON.stringify({ text: "cors" }),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe(origin);
    const exposed = (r.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(/,\s*/);
    for (const h of ["trailer-x-service-trailer", "x-service-header", "grpc-status"]) expect(exposed).toContain(h);
  });

  spec("real Chromium: fetch from a page on another origin pays and reads the reply and a trailer", async () => {
    const page = Bun.serve({
      port: await freePort(),
      hostname: "127.0.0.1",
      fetch: () => new Response("<!doctype html><title>dApp</title>", { headers: { "content-type": "text/html" } }),
    });
    const browser = await launchChromium();
    try {
      const ch = await world.openFundedChannel();
      const tab = await browser.newPage();
      await tab.goto(`http://127.0.0.1:${page.port}/`);
      const result = await tab.evaluate(
        async ({ url, payment }) => {
          const res = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json", "connect-protocol-version": "1", ...payment },
            body: JSON.stringify({ text: "from a browser" }),
          });
          return { status: res.status, body: await res.json(), trailer: res.headers.get("trailer-x-service-trailer") };
        },
        { url: `${paid.daemon.url}/example.Echo/Echo`, payment: curlHeaders(ch.pay(world.price)) },
      );
      expect(result.status).toBe(200);
      expect(result.body.text).toBe("from a browser");
      expect(result.body.metadata["snet-user-address"]).toBe(ch.client.address);
      expect(result.trailer).toBe("done");
      expect((await paid.state(ch)).amount).toBe(world.price);
    } finally {
      await browser.close();
      page.stop(true);
    }
  });
});

describe("start-up: where JSON gets its types", () => {
  let dir: string;
  let noProtos: DaemonProcess;
  let unpaid: DaemonProcess;
  let disabled: DaemonProcess;

  beforeAll(async () => {
    // service_proto_dir wins over the archive; an empty one is a service whose protos cannot be loaded.
    dir = mkdtempSync(join(tmpdir(), "snetd-no-protos-"));
    noProtos = await startDaemon({
      config: world.daemonConfig({ block_cache_ms: 0, service_proto_dir: dir }),
      binary: true,
    });
    const service = { service_endpoint: `http://${world.echo.address}`, blockchain_enabled: false };
    unpaid = await startDaemon({ config: service, binary: true });
    disabled = await startDaemon({ config: { ...service, connect_enabled: false }, binary: true });
  }, 60_000);

  afterAll(async () => {
    await noProtos?.stop();
    await unpaid?.stop();
    await disabled?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  spec(
    "a service without protos: the daemon starts and says so; JSON calls say why they fail, binary ones are paid",
    async () => {
      expect(noProtos.logs()).toContain(
        "Connect JSON calls are off: the service's proto files could not be loaded (no .proto file found",
      );
      const ch = await world.openFundedChannel();
      const headers = curlHeaders(ch.pay(world.price));
      const json = await curl(`${noProtos.url}/example.Echo/Echo`, {
        headers: { ...JSON_TYPE, ...headers },
        data: '{"text":"hi"}',
      });
      expect(json.status).toBe(501);
      expect((json.json as { message: string }).message).toStartWith(
        "JSON calls are not available: the service's proto files could not be loaded (",
      );
      const Req = protos.registry.getMessage("example.EchoRequest")!;
      const binary = await curl(`${noProtos.url}/example.Echo/Echo`, {
        headers: { "content-type": "application/proto", ...headers },
        data: toBinary(Req, create(Req, { text: "hi" })),
      });
      expect(binary.status).toBe(200);
      // The daemon's own methods have their types built in.
      const head = await world.head();
      const state = await curl(`${noProtos.url}/escrow.PaymentChannelStateService/GetChannelState`, {
        headers: JSON_TYPE,
        data: JSON.stringify({
          channelId: Buffer.from(bigintToMinimalBytes(ch.id)).toString("base64"),
          signature: Buffer.from(
            signChannelStateRequest(ch.client.privateKey, world.deployment.mpe, ch.id, head),
          ).toString("base64"),
          currentBlock: head.toString(),
        }),
      });
      expect(state.status).toBe(200);
      expect(
        bytesToBigint(Buffer.from((state.json as { currentSignedAmount: string }).currentSignedAmount, "base64")),
      ).toBe(world.price);
    },
    () => noProtos,
  );

  spec(
    "payments off: the daemon's health as JSON, the service's methods binary only",
    async () => {
      const health = await curl(`${unpaid.url}/grpc.health.v1.Health/Check`, { headers: JSON_TYPE, data: "{}" });
      expect(health.status).toBe(200);
      expect(health.json).toEqual({ status: "SERVING" });
      const json = await curl(`${unpaid.url}/example.Echo/Echo`, { headers: JSON_TYPE, data: '{"text":"hi"}' });
      expect(json.status).toBe(501);
      expect((json.json as { message: string }).message).toContain("blockchain_enabled is false");
    },
    () => unpaid,
  );

  spec(
    "connect_enabled: false: a JSON POST is plain HTTP again (404)",
    async () => {
      const r = await curl(`${disabled.url}/grpc.health.v1.Health/Check`, { headers: JSON_TYPE, data: "{}" });
      expect(r.status).toBe(404);
      expect(r.body.toString()).toBe("404 page not found\n");
    },
    () => disabled,
  );
});
