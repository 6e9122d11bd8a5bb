/**
 * Request body size on every path (protocol/operations.md#listener-limits): a gRPC message over
 * `max_message_size_in_mb` is refused with RESOURCE_EXHAUSTED — native gRPC, gRPC-Web binary and text over
 * HTTP/1.1, gRPC-Web over HTTP/2, the daemon's own methods — without reaching the service; a plain HTTP body
 * over `max_http_body_bytes` gets 413 with the reason (HTTP/1.1 and HTTP/2, declared or streamed); a client
 * that keeps sending after the refusal is cut. A well-behaved client is served meanwhile.
 */
import { describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { call } from "../kit/echo-service.ts";
import { limitedDaemon } from "./limited-daemon.ts";
import { callOn, ECHO, grpcFrame, h2Session, http1Request, rawConnection, webTrailers } from "./raw-clients.ts";

const MiB = 1024 * 1024;
const MAX_HTTP_BODY = 64 * 1024;
const TOO_BIG = /^received message larger than max \(\d+ vs\. 1048576\)$/;
const CUT_MS = 10_000;

const fx = limitedDaemon({ max_message_size_in_mb: 1, max_http_body_bytes: MAX_HTTP_BODY });

/** example.EchoRequest{payload} of `size` bytes (field 1, length-delimited). */
function bigEcho(size: number): Buffer {
  const len: number[] = [];
  for (let n = size; ; n = Math.floor(n / 128)) {
    len.push(n >= 128 ? (n % 128) + 128 : n);
    if (n < 128) break;
  }
  return Buffer.concat([Buffer.from([0x0a, ...len]), Buffer.alloc(size, 7)]);
}

async function goodCallWorks(text: string) {
  const r = await call(fx.good, "Echo", { text });
  expect(r.status.code).toBe(grpc.status.OK);
  expect(r.response?.text).toBe(text);
}

describe("gRPC messages over max_message_size_in_mb", () => {
  test("native gRPC: RESOURCE_EXHAUSTED with the sizes, nothing reaches the service", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const before = fx.service.calls;
      const r = await call(fx.good, "Echo", { payload: Buffer.alloc(2 * MiB, 1) });
      expect(r.status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(r.status.details).toMatch(TOO_BIG);
      expect(fx.service.calls).toBe(before);
      await goodCallWorks("after native");
    });
  });

  for (const mode of ["binary", "text"] as const) {
    test(`gRPC-Web ${mode} over HTTP/1.1: the trailer frame says RESOURCE_EXHAUSTED`, async () => {
      await fx.daemon.showLogsOnFailure(async () => {
        const before = fx.service.calls;
        const framed = grpcFrame(bigEcho(2 * MiB));
        const r = await http1Request(fx.daemon.endpoint, {
          path: ECHO,
          headers: { "content-type": mode === "text" ? "application/grpc-web-text" : "application/grpc-web+proto" },
          body: mode === "text" ? Buffer.from(framed.toString("base64")) : framed,
        });
        expect(r.status).toBe(200);
        const body = mode === "text" ? Buffer.from(r.body.toString("latin1"), "base64") : r.body;
        const trailers: Record<string, string> = { ...webTrailers(body) };
        expect(trailers["grpc-status"]).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
        expect(trailers["grpc-message"]).toMatch(TOO_BIG);
        expect(fx.service.calls).toBe(before);
        await goodCallWorks(`after web ${mode}`);
      });
    });
  }

  test("gRPC-Web over HTTP/2 and the daemon's own methods: RESOURCE_EXHAUSTED", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const session = h2Session(fx.daemon.endpoint);
      try {
        const web = await callOn(session, ECHO, bigEcho(2 * MiB), { "content-type": "application/grpc-web+proto" });
        expect(webTrailers(web.body)["grpc-status"] ?? String(web.status)).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
        const own = await callOn(session, "/escrow.PaymentChannelStateService/GetChannelState", bigEcho(2 * MiB));
        expect(own.status).toBe(grpc.status.RESOURCE_EXHAUSTED);
        expect(own.message).toMatch(/^received message larger than max/);
        // The connection that sent them is still fx.good for a normal call.
        const small = await callOn(session, "/escrow.PaymentChannelStateService/GetChannelState", Buffer.alloc(0));
        expect(small.status).toBe(0);
        // 16 MiB, four times the stream window, that the method stops reading at its frame header: the
        // status and a reset (RST_STREAM NO_ERROR) stop the client, which would otherwise wait forever.
        const huge = h2Session(fx.daemon.endpoint);
        const refused = await callOn(
          huge,
          "/escrow.PaymentChannelStateService/GetChannelState",
          bigEcho(16 * MiB),
        ).finally(() => huge.destroy());
        expect(refused.status).toBe(grpc.status.RESOURCE_EXHAUSTED);
      } finally {
        session.destroy();
      }
    });
  });

  test("a client that keeps streaming after the refusal is cut, and others are served meanwhile", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const c = await rawConnection(fx.daemon.endpoint);
      c.send(
        `POST ${ECHO} HTTP/1.1\r\nHost: snetd\r\nContent-Type: application/grpc-web+proto\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      // A frame header announcing 64 MiB, then an endless body.
      const head = Buffer.alloc(5);
      head.writeUInt32BE(64 * MiB, 1);
      const chunk = (b: Buffer) => `${b.length.toString(16)}\r\n${b.toString("latin1")}\r\n`;
      c.send(chunk(head));
      const filler = Buffer.alloc(64 * 1024, 1);
      const timer = setInterval(() => c.send(chunk(filler)), 5);
      try {
        await goodCallWorks("during the flood");
        expect(await c.closedWithin(CUT_MS)).toBe(true);
        expect(c.received().toString("latin1")).toContain("received message larger than max (67108864 vs. 1048576)");
      } finally {
        clearInterval(timer);
      }
    });
  });
});

describe("plain HTTP bodies over max_http_body_bytes", () => {
  test("HTTP/1.1, declared or streamed: 413 with the reason", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const declared = await http1Request(fx.daemon.endpoint, {
        path: "/heartbeat",
        body: Buffer.alloc(MAX_HTTP_BODY + 1, 0x61),
      });
      expect(declared.status).toBe(413);
      expect(declared.body.toString()).toBe(`request body larger than ${MAX_HTTP_BODY} bytes (max_http_body_bytes)\n`);
      const streamed = await http1Request(fx.daemon.endpoint, {
        path: "/heartbeat",
        headers: { "transfer-encoding": "chunked" },
        body: Buffer.alloc(4 * MAX_HTTP_BODY, 0x61),
      });
      expect(streamed.status).toBe(413);
      const fits = await http1Request(fx.daemon.endpoint, {
        path: "/heartbeat",
        body: Buffer.alloc(MAX_HTTP_BODY, 0x61),
      });
      expect(fits.status).toBe(200);
      await goodCallWorks("after 413");
    });
  });

  test("HTTP/2: 413 with the reason and the stream reset, so even a body larger than the window does not hang", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const post = (session: ReturnType<typeof h2Session>, size: number) =>
        new Promise<{ status: number; text: string }>((resolve) => {
          const req = session.request({ ":method": "POST", ":path": "/heartbeat" });
          let status = 0;
          let text = "";
          req.on("response", (h) => (status = Number(h[":status"])));
          req.on("data", (d: Buffer) => (text += d.toString()));
          req.on("error", () => {});
          req.on("close", () => resolve({ status, text }));
          req.end(Buffer.alloc(size, 0x61));
        });
      const refusal = { status: 413, text: `request body larger than ${MAX_HTTP_BODY} bytes (max_http_body_bytes)\n` };
      const session = h2Session(fx.daemon.endpoint);
      const huge = h2Session(fx.daemon.endpoint);
      try {
        // Over the limit but within the window: only the stream is refused, the connection serves on.
        expect(await post(session, 4 * MAX_HTTP_BODY)).toEqual(refusal);
        expect((await post(session, 10)).status).toBe(200);
        // 16 MiB is four times the stream's flow-control window: without the reset the client would wait
        // forever. (What it sends on after the reset may cost it its connection: Bun's HTTP/2 server
        // counts frames on closed streams.)
        expect(await post(huge, 16 * MiB)).toEqual(refusal);
        await goodCallWorks("after the huge body");
      } finally {
        session.destroy();
        huge.destroy();
      }
    });
  });
});
