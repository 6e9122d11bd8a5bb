// Property tests of what the listener reads before any payment check: gRPC length-prefixed frames
// (transport/grpc-frames.ts), gRPC-Web bodies in binary and base64 text (transport/grpc-web-call.ts), and
// the daemon's own request messages (transport/services/method.ts, protobuf-es). Garbage ends in a clear
// INVALID_ARGUMENT (or RESOURCE_EXHAUSTED / UNIMPLEMENTED where the catalogue says so), never INTERNAL, and
// never reaches a handler.
import { describe, expect, test } from "bun:test";
import { Readable } from "node:stream";
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { Code } from "../../src/core/errors.ts";
import { decodeFrames, encodeFrame, FRAME_HEADER, frameSizeWatcher } from "../../src/core/grpc-frames.ts";
import { StartClaimRequestSchema } from "../../src/gen/control_service_pb.ts";
import {
  ChannelStateReplySchema,
  ChannelStateRequestSchema,
  FreeCallStateRequestSchema,
  GetFreeCallTokenRequestSchema,
} from "../../src/gen/state_service_pb.ts";
import { TokenRequestSchema } from "../../src/gen/token_service_pb.ts";
import type { HeaderMap, ServerCall } from "../../src/transport/call.ts";
import { grpcWebCall, type HttpResponder } from "../../src/transport/grpc-web-call.ts";
import { unary } from "../../src/transport/services/method.ts";
import { check } from "./fuzz-kit.ts";

/** Splits `bytes` at generated cut points, as TCP may deliver them. */
const chunked = (bytes: Uint8Array, cuts: number[]): Uint8Array[] => {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  return out;
};

const frames = fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 })), {
  maxLength: 6,
});

describe("gRPC frames", () => {
  test("decodeFrames re-encodes to its input, or throws on a truncated body", async () => {
    await check(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          frames.map((fs) => Buffer.concat(fs.map(([f, p]) => encodeFrame(p, f)))),
        ),
        (body) => {
          let decoded: ReturnType<typeof decodeFrames>;
          try {
            decoded = decodeFrames(body);
          } catch (err) {
            expect((err as Error).message).toMatch(/^truncated gRPC (frame header|message)$/);
            return;
          }
          expect(Buffer.concat(decoded.map((f) => encodeFrame(f.payload, f.flag))).equals(Buffer.from(body))).toBe(
            true,
          );
        },
      ),
      2000,
    );
  });

  test("the streaming size watcher finds the first oversized message however the bytes are chunked", async () => {
    await check(
      fc.property(frames, fc.array(fc.nat(), { maxLength: 8 }), fc.integer({ min: 0, max: 320 }), (fs, cuts, max) => {
        const body = Buffer.concat(fs.map(([f, p]) => encodeFrame(p, f)));
        const watch = frameSizeWatcher(max);
        let found: number | undefined;
        for (const chunk of chunked(body, cuts)) found ??= watch(chunk);
        expect(found).toBe(fs.map(([, p]) => p.length).find((n) => n > max));
      }),
      2000,
    );
  });
});

/** A gRPC-Web call over an in-memory HTTP exchange; returns the decoded request body. */
async function grpcWebBody(contentType: string, chunks: Uint8Array[]): Promise<Buffer> {
  const res: HttpResponder = { writeHead() {}, write: () => true, end() {}, onDrain() {}, onClose() {} };
  const call = grpcWebCall({
    path: "/x.Y/Z",
    contentType,
    rawHeaders: [],
    headers: {},
    body: Readable.from(chunks.map((c) => Buffer.from(c))),
    res,
  });
  const parts: Buffer[] = [];
  for await (const part of call.body as AsyncIterable<Buffer>) parts.push(part);
  return Buffer.concat(parts);
}

describe("gRPC-Web bodies", () => {
  test("binary bodies pass through unchanged", async () => {
    await check(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 6 }), async (bytes, cuts) => {
        expect((await grpcWebBody("application/grpc-web+proto", chunked(bytes, cuts))).equals(Buffer.from(bytes))).toBe(
          true,
        );
      }),
      300,
    );
  });

  test("base64 text decodes to the bytes sent however it is chunked, padded per message or wrapped in whitespace", async () => {
    await check(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.constantFrom("", "\n", "\r\n", " "),
        async (messages, cuts, ws) => {
          // grpc-web clients encode each message on its own, so padding may appear inside the stream.
          const text = messages.map((m) => Buffer.from(m).toString("base64")).join(ws);
          const expected = Buffer.concat(messages);
          const got = await grpcWebBody("application/grpc-web-text", chunked(Buffer.from(text, "latin1"), cuts));
          // Padding inside the text is only harmless where every earlier message was a multiple of 3 bytes.
          if (messages.slice(0, -1).every((m) => m.length % 3 === 0)) expect(got.equals(expected)).toBe(true);
        },
      ),
      500,
    );
  });

  test("garbage text never throws: it decodes to some bytes, which the frame checks then judge", async () => {
    await check(
      fc.asyncProperty(
        fc.string({ unit: "binary", maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (text, cuts) => {
          const got = await grpcWebBody("application/grpc-web-text+proto", chunked(Buffer.from(text, "latin1"), cuts));
          expect(got.length).toBeLessThanOrEqual(Math.ceil((text.length * 3) / 4) + 3);
        },
      ),
      500,
    );
  });
});

/** A daemon call whose body is `chunks`; resolves to its trailers. */
function memoryCall(chunks: Uint8Array[]): { call: ServerCall; trailers: Promise<HeaderMap> } {
  let done: (t: HeaderMap) => void = () => {};
  const trailers = new Promise<HeaderMap>((r) => (done = r));
  let finished = false;
  const call: ServerCall = {
    path: "/escrow.PaymentChannelStateService/GetChannelState",
    metadata: new Map(),
    timeoutMs: undefined,
    protocol: "grpc",
    body: Readable.from(chunks.map((c) => Buffer.from(c))),
    sendHeaders() {},
    write: () => true,
    onDrain() {},
    finish(t) {
      if (finished) return;
      finished = true;
      done(t);
    },
    onCancel() {},
    get finished() {
      return finished;
    },
  };
  return { call, trailers };
}

const SCHEMAS = [
  ChannelStateRequestSchema,
  FreeCallStateRequestSchema,
  GetFreeCallTokenRequestSchema,
  TokenRequestSchema,
  StartClaimRequestSchema,
];
const MAX_MESSAGE = 4096;

describe("the daemon's own request messages", () => {
  test("a body that is not one well-formed message is refused before the handler, never with INTERNAL", async () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }).map((p) => encodeFrame(p)),
      fc
        .tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 60 }))
        .map(([flag, p]) => encodeFrame(p, flag)),
      fc
        .array(fc.uint8Array({ maxLength: 20 }), { maxLength: 3 })
        .map((ps) => Buffer.concat(ps.map((p) => encodeFrame(p)))),
      fc.integer({ min: MAX_MESSAGE + 1, max: MAX_MESSAGE * 4 }).map((n) => encodeFrame(new Uint8Array(n))),
    );
    await check(
      fc.asyncProperty(
        fc.constantFrom(...SCHEMAS),
        body,
        fc.array(fc.nat(), { maxLength: 4 }),
        async (schema, bytes, cuts) => {
          let handled = 0;
          const method = unary("/x", schema, ChannelStateReplySchema, async () => {
            handled++;
            return {};
          });
          const { call, trailers } = memoryCall(chunked(bytes, cuts));
          await method.serve(call, MAX_MESSAGE);
          const t = await trailers;
          const status = Number(t["grpc-status"]);
          if (status === 0) {
            expect(handled).toBe(1);
            return;
          }
          expect(handled).toBe(0);
          expect([Code.INVALID_ARGUMENT, Code.RESOURCE_EXHAUSTED, Code.UNIMPLEMENTED]).toContain(status as 3 | 8 | 12);
          expect(String(t["grpc-message"])).not.toContain("internal error");
        },
      ),
      1500,
    );
  });

  test("every well-formed request reaches the handler with the fields sent", async () => {
    await check(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 70 }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        async (id, sig, block) => {
          const sent = create(ChannelStateRequestSchema, { channelId: id, signature: sig, currentBlock: block });
          let got: unknown;
          const method = unary("/x", ChannelStateRequestSchema, ChannelStateReplySchema, async (req) => {
            got = { channelId: req.channelId, signature: req.signature, currentBlock: req.currentBlock };
            return {};
          });
          const { call, trailers } = memoryCall([encodeFrame(toBinary(ChannelStateRequestSchema, sent))]);
          await method.serve(call, MAX_MESSAGE);
          expect((await trailers)["grpc-status"]).toBe("0");
          expect(got).toEqual({ channelId: id, signature: sig, currentBlock: block });
        },
      ),
      300,
    );
  });

  test("regression: a truncated frame or a bad protobuf wire type is INVALID_ARGUMENT, not 'internal error'", async () => {
    for (const bytes of [
      Uint8Array.of(0, 0, 0),
      encodeFrame(Uint8Array.of(0x0f)),
      encodeFrame(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f)),
    ]) {
      const method = unary("/x", ChannelStateRequestSchema, ChannelStateReplySchema, async () => ({}));
      const { call, trailers } = memoryCall([bytes]);
      await method.serve(call, MAX_MESSAGE);
      const t = await trailers;
      expect(t["grpc-status"]).toBe(String(Code.INVALID_ARGUMENT));
      expect(decodeURIComponent(String(t["grpc-message"]))).toStartWith("request message cannot be decoded: ");
    }
    expect(FRAME_HEADER).toBe(5);
  });
});
