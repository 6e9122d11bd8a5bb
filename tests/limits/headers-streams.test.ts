/**
 * Header size and stream count (protocol/operations.md#listener-limits): request headers over
 * `max_header_list_bytes` are refused — the HTTP/2 stream reset with ENHANCE_YOUR_CALM (grpc-js reports
 * RESOURCE_EXHAUSTED), HTTP/1.1 answered 431 with the reason — and streams past `max_concurrent_streams` on
 * one connection are reset with REFUSED_STREAM, while the same connection's other streams and other clients
 * are served. A rapid-reset flood (streams opened and cancelled at once) loses its connection.
 */
import { describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { call } from "../kit/echo-service.ts";
import { until } from "../kit/wait.ts";
import { limitedDaemon } from "./limited-daemon.ts";
import {
  ECHO,
  echoRequest,
  FLAG,
  FRAME,
  frame,
  goaway,
  grpcFrame,
  grpcHeaders,
  PREFACE,
  parseFrames,
  rawConnection,
  resets,
} from "./raw-clients.ts";

const MAX_HEADERS = 16 * 1024;
const MAX_STREAMS = 4;
const ENHANCE_YOUR_CALM = 11;
const REFUSED_STREAM = 7;
const WAIT = { timeoutMs: 10_000, intervalMs: 20 };

const fx = limitedDaemon({ max_header_list_bytes: MAX_HEADERS, max_concurrent_streams: MAX_STREAMS });

async function goodCallWorks(text: string) {
  const r = await call(fx.good, "Echo", { text });
  expect(r.status.code).toBe(grpc.status.OK);
  expect(r.response?.text).toBe(text);
}

describe("max_header_list_bytes", () => {
  test("gRPC metadata over the limit: RESOURCE_EXHAUSTED, nothing reaches the service; within it: served", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const before = fx.service.calls;
      const big = await call(fx.good, "Echo", { text: "big" }, { "x-big": "a".repeat(2 * MAX_HEADERS) });
      expect(big.status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(fx.service.calls).toBe(before);
      const fits = await call(fx.good, "Echo", { text: "fits" }, { "x-fits": "a".repeat(MAX_HEADERS / 2) });
      expect(fits.status.code).toBe(grpc.status.OK);
    });
  });

  test("HTTP/2: only the oversized stream is reset (ENHANCE_YOUR_CALM); its connection serves the next call", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const c = await rawConnection(fx.daemon.endpoint);
      const oversized = grpcHeaders(ECHO, [["x-big", "a".repeat(2 * MAX_HEADERS)]]);
      // Split like a real client would: a header block above the 16 KiB frame size needs CONTINUATION frames.
      const pieces = [0, 16_000, 32_000].map((at) => oversized.subarray(at, at + 16_000)).filter((p) => p.length > 0);
      const block = pieces.map((p, i) =>
        frame(i === 0 ? FRAME.HEADERS : FRAME.CONTINUATION, i === pieces.length - 1 ? FLAG.END_HEADERS : 0, 1, p),
      );
      c.send(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0), ...block]));
      c.send(frame(FRAME.DATA, FLAG.END_STREAM, 1, grpcFrame(echoRequest("big"))));
      await until(() => resets(parseFrames(c.received())).has(1), "stream 1 to be reset", WAIT);
      expect(resets(parseFrames(c.received())).get(1)).toBe(ENHANCE_YOUR_CALM);

      c.send(frame(FRAME.HEADERS, FLAG.END_HEADERS, 3, grpcHeaders(ECHO)));
      c.send(frame(FRAME.DATA, FLAG.END_STREAM, 3, grpcFrame(echoRequest("small"))));
      await until(
        () =>
          parseFrames(c.received()).some(
            (f) => f.stream === 3 && f.type === FRAME.HEADERS && f.flags & FLAG.END_STREAM,
          ),
        "stream 3's trailers",
        WAIT,
      );
      expect(resets(parseFrames(c.received())).has(3)).toBe(false);
      expect(c.received().includes(Buffer.from("small"))).toBe(true);
      c.socket.destroy();
      await goodCallWorks("meanwhile");
    });
  });

  test("HTTP/1.1 headers over the limit: 431 with the reason, connection closed", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const c = await rawConnection(fx.daemon.endpoint);
      c.send(`POST /heartbeat HTTP/1.1\r\nHost: snetd\r\nX-Big: ${"a".repeat(2 * MAX_HEADERS)}\r\n\r\n`);
      expect(await c.closedWithin(WAIT.timeoutMs)).toBe(true);
      const reply = c.received().toString("latin1");
      expect(reply).toStartWith("HTTP/1.1 431 Request Header Fields Too Large\r\n");
      expect(reply).toContain(`request headers larger than ${MAX_HEADERS} bytes (max_header_list_bytes)`);
      await goodCallWorks("after 431");
    });
  });
});

describe("max_concurrent_streams", () => {
  test("streams past the limit are refused; the first ones and other clients carry on", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const c = await rawConnection(fx.daemon.endpoint);
      c.send(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
      // Ten calls opened at once, none finished: their request bodies never end.
      const ids = Array.from({ length: 10 }, (_, i) => 1 + 2 * i);
      c.send(Buffer.concat(ids.map((id) => frame(FRAME.HEADERS, FLAG.END_HEADERS, id, grpcHeaders(ECHO)))));
      await until(
        () => resets(parseFrames(c.received())).size >= ids.length - MAX_STREAMS,
        "the extra streams to be refused",
        WAIT,
      );
      const refused = resets(parseFrames(c.received()));
      expect([...refused.values()]).toEqual(Array(ids.length - MAX_STREAMS).fill(REFUSED_STREAM));
      const open = ids.filter((id) => !refused.has(id));
      expect(open.length).toBe(MAX_STREAMS);

      await goodCallWorks("beside the greedy connection");
      // The accepted streams are real calls: finishing one gets its echo back.
      const first = open[0] as number;
      c.send(frame(FRAME.DATA, FLAG.END_STREAM, first, grpcFrame(echoRequest("accepted"))));
      await until(() => c.received().includes(Buffer.from("accepted")), "the accepted stream's reply", WAIT);
      c.socket.destroy();
    });
  });
  test("rapid reset (streams opened and cancelled at once, CVE-2023-44487): the connection is cut, others are served", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const c = await rawConnection(fx.daemon.endpoint);
      c.send(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
      const cancel = Buffer.alloc(4);
      cancel.writeUInt32BE(8); // CANCEL
      const headers = grpcHeaders(ECHO);
      let id = 1;
      // Batches of 500 opened-and-reset streams, up to 50 000, until the daemon hangs up.
      while (id < 100_000 && !c.closed) {
        const batch: Buffer[] = [];
        for (let i = 0; i < 500; i++, id += 2)
          batch.push(frame(FRAME.HEADERS, FLAG.END_HEADERS, id, headers), frame(FRAME.RST_STREAM, 0, id, cancel));
        c.send(Buffer.concat(batch));
        await new Promise((r) => setImmediate(r));
      }
      expect(await c.closedWithin(WAIT.timeoutMs)).toBe(true);
      // The GOAWAY can be lost: the client is still sending when the daemon closes, so the daemon's kernel
      // answers with a TCP reset, which may discard it from the client's receive queue. When it arrived, it
      // says why.
      const last = goaway(parseFrames(c.received()));
      if (last) expect(last.code).toBe(ENHANCE_YOUR_CALM);
      await goodCallWorks("after the rapid reset");
    });
  });
});
