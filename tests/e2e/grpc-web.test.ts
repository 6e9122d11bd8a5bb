/**
 * gRPC-Web on the daemon port (protocol/headers.md#grpc-web): browsers' binary and base64-text bodies over HTTP/1.1 and
 * HTTP/2, translated to gRPC towards the service (unary and server streaming), trailers in the 0x80 frame,
 * permissive CORS; plus plain HTTP over an HTTP/2 prior-knowledge connection.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http2 from "node:http2";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { type DaemonProcess, startDaemon } from "../kit/daemon.ts";
import {
  type EchoReply,
  type EchoService,
  FAIL_TRAILERS,
  patternBytes,
  startEchoService,
} from "../kit/echo-service.ts";

type Definition = grpc.MethodDefinition<object, EchoReply>;
const loaderOptions = { keepCase: true, longs: String, enums: String, defaults: true };
const echoMethods = protoLoader.loadSync(join(import.meta.dir, "../kit/echo.proto"), loaderOptions)[
  "example.Echo"
] as Record<string, Definition>;
const healthCheckMethod = (
  protoLoader.loadSync(join(import.meta.dir, "../../proto/grpc/health/v1/health.proto"), loaderOptions)[
    "grpc.health.v1.Health"
  ] as Record<string, grpc.MethodDefinition<object, { status: string }>>
).Check!;

function method(name: string): Definition {
  const m = echoMethods[name];
  if (!m) throw new Error(`Method '${name}' is not in echo.proto`);
  return m;
}

const EXPOSED = [
  "grpc-status",
  "grpc-message",
  "grpc-encoding",
  "grpc-accept-encoding",
  "grpc-timeout",
  "grpc-status-details-bin",
  "x-grpc-web",
  "retry-after",
];

function frame(payload: Uint8Array, flag = 0): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = flag;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

interface WebReply {
  messages: Buffer[];
  /** From the 0x80 frame, with a trailers-only status in the headers merged in. */
  trailers: Record<string, string>;
  /** Frames after the trailer frame, or a truncated frame: must be zero. */
  leftover: number;
}

/** Splits a gRPC-Web body into messages and the trailer frame (text bodies already decoded). */
function parseWebBody(body: Buffer, headers: Record<string, string | undefined>): WebReply {
  const messages: Buffer[] = [];
  const trailers: Record<string, string> = {};
  for (const key of ["grpc-status", "grpc-message"]) if (headers[key] !== undefined) trailers[key] = headers[key]!;
  let offset = 0;
  let leftover = 0;
  let sawTrailers = false;
  while (offset < body.length) {
    if (body.length - offset < 5) {
      leftover++;
      break;
    }
    const flag = body[offset]!;
    const length = body.readUInt32BE(offset + 1);
    const payload = body.subarray(offset + 5, offset + 5 + length);
    if (payload.length < length || sawTrailers) leftover++;
    offset += 5 + length;
    if (flag & 0x80) {
      sawTrailers = true;
      for (const line of payload.toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
    } else {
      messages.push(payload);
    }
  }
  return { messages, trailers, leftover };
}

const decode = (payload: Buffer, m: Definition = method("Echo")): EchoReply => m.responseDeserialize(payload);

describe("gRPC-Web (payments off)", () => {
  let service: EchoService;
  let daemon: DaemonProcess;

  /** One gRPC-Web call over HTTP/1.1 with fetch. */
  async function webCall(
    path: string,
    message: Uint8Array,
    opts: { text?: boolean; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ) {
    const body = frame(message);
    const res = await fetch(`${daemon.url}${path}`, {
      method: "POST",
      headers: {
        "content-type": opts.text ? "application/grpc-web-text" : "application/grpc-web+proto",
        accept: opts.text ? "application/grpc-web-text" : "application/grpc-web+proto",
        "x-grpc-web": "1",
        "x-user-agent": "grpc-web-javascript/0.1",
        ...opts.headers,
      },
      body: opts.text ? body.toString("base64") : new Uint8Array(body),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const raw = Buffer.from(await res.arrayBuffer());
    const headers: Record<string, string> = {};
    res.headers.forEach((value, key) => {
      headers[key] = value;
    });
    const decoded = opts.text ? Buffer.from(raw.toString("latin1"), "base64") : raw;
    if (opts.text) expect(raw.toString("latin1")).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
    return { status: res.status, headers, ...parseWebBody(decoded, headers) };
  }

  beforeAll(async () => {
    service = await startEchoService();
    daemon = await startDaemon({
      config: { service_endpoint: `http://${service.address}`, blockchain_enabled: false },
    });
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    await service?.stop();
  }, 30_000);

  const spec = (name: string, fn: () => Promise<void>, timeoutMs = 20_000) =>
    test(name, () => daemon.showLogsOnFailure(fn), timeoutMs);

  for (const text of [false, true]) {
    const kind = text ? "text (base64)" : "binary";

    spec(`HTTP/1.1 ${kind} unary: reply, headers, trailers in the 0x80 frame, CORS`, async () => {
      const payload = patternBytes(70_000);
      const r = await webCall("/example.Echo/Echo", method("Echo").requestSerialize({ text: "web", payload }), {
        text,
        headers: {
          origin: "https://dapp.example",
          "x-custom": "v",
          "x-trace-bin": Buffer.of(0, 255, 1).toString("base64"),
          "snet-user-address": "0x00000000000000000000000000000000DeaDBeef",
        },
      });
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toBe(text ? "application/grpc-web-text+proto" : "application/grpc-web+proto");
      expect(r.headers["access-control-allow-origin"]).toBe("https://dapp.example");
      const exposed = (r.headers["access-control-expose-headers"] ?? "").toLowerCase().split(/,\s*/);
      for (const h of EXPOSED) expect(exposed).toContain(h);
      expect(r.headers["access-control-allow-credentials"]).toBeUndefined();
      expect(r.headers["x-service-header"]).toBe("yes");
      expect(r.headers["echo-x-custom"]).toBe("v");

      expect(r.messages).toHaveLength(1);
      const reply = decode(r.messages[0]!);
      expect(reply.text).toBe("web");
      expect(reply.payload.equals(payload)).toBe(true);
      // Metadata reaches the service; browser plumbing and a claimed identity do not.
      expect(reply.metadata["x-custom"]).toBe("v");
      expect(reply.metadata["x-trace-bin"]).toBe(Buffer.of(0, 255, 1).toString("base64"));
      for (const k of ["x-grpc-web", "x-user-agent", "origin", "snet-user-address", "content-type"])
        expect(reply.metadata).not.toHaveProperty(k);

      expect(r.trailers["grpc-status"]).toBe("0");
      expect(r.trailers["x-service-trailer"]).toBe("done");
      expect(r.leftover).toBe(0);
    });

    spec(`HTTP/1.1 ${kind} server streaming: every message, then the trailers`, async () => {
      const payload = patternBytes(40_001);
      const m = method("ServerStream");
      const r = await webCall("/example.Echo/ServerStream", m.requestSerialize({ count: 12, payload }), { text });
      expect(r.status).toBe(200);
      expect(r.messages.map((b) => decode(b, m).count)).toEqual([...Array(12).keys()]);
      expect(r.messages.every((b) => decode(b, m).payload.equals(payload))).toBe(true);
      expect(r.trailers["grpc-status"]).toBe("0");
      expect(r.trailers["x-service-trailer"]).toBe("done");
      expect(r.leftover).toBe(0);
    });

    spec(`HTTP/1.1 ${kind} service error: status, message and trailing metadata (-bin as base64)`, async () => {
      for (const sendHeaders of [true, false]) {
        const message = "gone: 100% ü";
        const r = await webCall(
          "/example.Echo/Fail",
          method("Fail").requestSerialize({ code: 5, message, send_headers: sendHeaders }),
          { text },
        );
        expect(r.status).toBe(200);
        expect(r.messages).toHaveLength(0);
        expect(r.trailers["grpc-status"]).toBe("5");
        expect(decodeURIComponent(r.trailers["grpc-message"] ?? "")).toBe(message);
        expect(r.trailers["x-error-detail"]).toBe(FAIL_TRAILERS["x-error-detail"]);
        expect(
          Buffer.from(r.trailers["x-error-detail-bin"] ?? "", "base64").equals(FAIL_TRAILERS["x-error-detail-bin"]),
        ).toBe(true);
        expect(r.leftover).toBe(0);
      }
    });
  }

  spec("HTTP/1.1 grpc-timeout is honoured and the service sees the cancellation", async () => {
    const before = service.cancelled;
    const r = await webCall("/example.Echo/Slow", method("Slow").requestSerialize({ millis: 60_000 }), {
      headers: { "grpc-timeout": "300m" },
    });
    expect(r.trailers["grpc-status"]).toBe("4");
    await service.waitCancelled(before + 1, 10_000);
  });

  spec("HTTP/1.1 a browser that goes away cancels the call at the service", async () => {
    const before = { calls: service.calls, cancelled: service.cancelled };
    const controller = new AbortController();
    const pending = webCall("/example.Echo/Slow", method("Slow").requestSerialize({ millis: 60_000 }), {
      signal: controller.signal,
    }).catch((e: Error) => e);
    const deadline = Date.now() + 10_000;
    while (service.calls === before.calls && Date.now() < deadline) await Bun.sleep(20);
    expect(service.calls).toBe(before.calls + 1);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await service.waitCancelled(before.cancelled + 1, 10_000);
  });

  spec("HTTP/1.1 the daemon's own health Check answers over gRPC-Web", async () => {
    const r = await webCall("/grpc.health.v1.Health/Check", healthCheckMethod.requestSerialize({ service: "" }), {
      text: true,
    });
    expect(r.trailers["grpc-status"]).toBe("0");
    expect(r.messages).toHaveLength(1);
    expect(healthCheckMethod.responseDeserialize(r.messages[0]!).status).toBe("SERVING");
  });

  spec("OPTIONS preflight: 204 with permissive CORS, private network access when asked", async () => {
    const res = await fetch(`${daemon.url}/example.Echo/Echo`, {
      method: "OPTIONS",
      headers: {
        origin: "https://dapp.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web,snet-payment-type",
        "access-control-request-private-network": "true",
      },
    });
    await res.arrayBuffer();
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://dapp.example");
    const methods = (res.headers.get("access-control-allow-methods") ?? "").split(/,\s*/);
    for (const m of ["GET", "POST", "OPTIONS", "HEAD"]) expect(methods).toContain(m);
    expect(res.headers.get("access-control-allow-headers")).toBe("content-type,x-grpc-web,snet-payment-type");
    expect(res.headers.get("access-control-allow-private-network")).toBe("true");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();

    const plain = await fetch(`${daemon.url}/heartbeat`, {
      method: "OPTIONS",
      headers: { "access-control-request-method": "GET" },
    });
    await plain.arrayBuffer();
    expect(plain.status).toBe(204);
    expect(plain.headers.get("access-control-allow-origin")).toBe("*");
    expect(plain.headers.get("access-control-allow-private-network")).toBeNull();
  });

  spec("plain HTTP responses carry CORS headers too", async () => {
    const res = await fetch(`${daemon.url}/heartbeat`, { headers: { origin: "https://dapp.example" } });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://dapp.example");
  });

  describe("over HTTP/2 (prior knowledge)", () => {
    let session: http2.ClientHttp2Session;
    beforeAll(() => {
      session = http2.connect(daemon.url);
      session.on("error", () => {});
    });
    afterAll(() => session?.close());

    function h2Request(headers: http2.OutgoingHttpHeaders, body?: Uint8Array) {
      return new Promise<{
        headers: http2.IncomingHttpHeaders;
        trailers: http2.IncomingHttpHeaders | undefined;
        body: Buffer;
      }>((resolve, reject) => {
        const req = session.request(headers);
        const chunks: Buffer[] = [];
        let responseHeaders: http2.IncomingHttpHeaders = {};
        let trailers: http2.IncomingHttpHeaders | undefined;
        req.on("response", (h) => (responseHeaders = h));
        req.on("trailers", (t) => (trailers = t));
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => resolve({ headers: responseHeaders, trailers, body: Buffer.concat(chunks) }));
        req.on("error", reject);
        req.end(body);
      });
    }
    const webHeaders = (path: string, contentType: string) => ({
      ":method": "POST",
      ":path": path,
      "content-type": contentType,
      "x-grpc-web": "1",
      "x-h2": "yes",
    });

    spec("binary unary: routed as gRPC-Web, not native gRPC (protocol/reference-differences.md#d24)", async () => {
      const payload = patternBytes(50_000);
      const r = await h2Request(
        webHeaders("/example.Echo/Echo", "application/grpc-web+proto"),
        frame(method("Echo").requestSerialize({ text: "h2", payload })),
      );
      expect(Number(r.headers[":status"])).toBe(200);
      expect(r.headers["content-type"]).toBe("application/grpc-web+proto");
      expect(r.headers["access-control-allow-origin"]).toBe("*");
      // gRPC-Web carries the status in the body, never in HTTP/2 trailers.
      expect(r.trailers?.["grpc-status"]).toBeUndefined();
      const web = parseWebBody(r.body, {});
      expect(web.messages).toHaveLength(1);
      const reply = decode(web.messages[0]!);
      expect(reply.text).toBe("h2");
      expect(reply.payload.equals(payload)).toBe(true);
      expect(reply.metadata["x-h2"]).toBe("yes");
      expect(web.trailers["grpc-status"]).toBe("0");
      expect(web.trailers["x-service-trailer"]).toBe("done");
      expect(web.leftover).toBe(0);
    });

    spec("text server streaming", async () => {
      const m = method("ServerStream");
      const r = await h2Request(
        webHeaders("/example.Echo/ServerStream", "application/grpc-web-text"),
        Buffer.from(frame(m.requestSerialize({ count: 4, payload: patternBytes(10) })).toString("base64")),
      );
      expect(r.headers["content-type"]).toBe("application/grpc-web-text+proto");
      const web = parseWebBody(Buffer.from(r.body.toString("latin1"), "base64"), {});
      expect(web.messages.map((b) => decode(b, m).text)).toEqual(["reply 0", "reply 1", "reply 2", "reply 3"]);
      expect(web.trailers["grpc-status"]).toBe("0");
      expect(web.leftover).toBe(0);
    });

    spec("plain GET /heartbeat and a 404", async () => {
      const beat = await h2Request({ ":path": "/heartbeat" });
      expect(Number(beat.headers[":status"])).toBe(200);
      const body = JSON.parse(beat.body.toString("utf8")) as Record<string, unknown>;
      expect(body.status).toBe("Online");
      expect(body.timestamp).toBeTypeOf("string");
      const missing = await h2Request({ ":path": "/nothing-here" });
      expect(Number(missing.headers[":status"])).toBe(404);
    });
  });
});
