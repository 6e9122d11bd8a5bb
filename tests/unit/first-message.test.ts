// Reading a call's first request message before the call goes on (protocol/upstreams.md#price-call):
// bounded in size before buffering and in time, decompressed when the client compressed it, and put back
// byte for byte in front of the rest of the body for a passthrough. The body is a real stream fed in chunks.
import { describe, expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import { gzipSync } from "node:zlib";
import { Code } from "../../src/core/errors.ts";
import { encodeFrame } from "../../src/core/grpc-frames.ts";
import type { ServerCall } from "../../src/transport/call.ts";
import { readFirstMessage, withReplayedBody } from "../../src/transport/first-message.ts";

/** A call whose body the test writes; only what readFirstMessage and withReplayedBody use is real. */
function callWithBody(metadata: Record<string, string> = {}) {
  const body = new PassThrough();
  const call = {
    path: "/calc.Calculator/mul",
    metadata: new Map(Object.entries(metadata).map(([k, v]) => [k, [v]])),
    timeoutMs: undefined,
    protocol: "grpc",
    body,
  } as unknown as ServerCall;
  return { call, body };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(parts);
}

const limits = { maxMessageBytes: 1024, timeoutMs: 2000 };

describe("readFirstMessage", () => {
  test("a message split across chunks is read whole; the rest of the body is replayed unchanged", async () => {
    const { call, body } = callWithBody();
    const first = encodeFrame(new Uint8Array([1, 2, 3, 4, 5, 6]));
    const second = encodeFrame(new Uint8Array([7, 8]));
    const all = Buffer.concat([first, second]);
    const reading = readFirstMessage(call, limits);
    body.write(all.subarray(0, 3));
    body.write(all.subarray(3, 9));
    body.write(all.subarray(9));
    const msg = await reading;
    expect([...msg.message]).toEqual([1, 2, 3, 4, 5, 6]);
    const replayed = withReplayedBody(call, msg);
    body.end();
    expect((await readAll(replayed.body)).equals(all)).toBe(true);
  });

  test("a frame announcing more than the limit is refused from its header, before the message arrives", async () => {
    const { call, body } = callWithBody();
    const header = Buffer.from([0, 0, 0, 0x10, 0x00]);
    const reading = readFirstMessage(call, limits);
    body.write(header);
    await expect(reading).rejects.toMatchObject({
      code: Code.RESOURCE_EXHAUSTED,
      message: "received message larger than max (4096 vs. 1024)",
    });
  });

  test("a body that ends without a message, or sends none in time, is refused", async () => {
    const ended = callWithBody();
    const reading = readFirstMessage(ended.call, limits);
    ended.body.end(Buffer.from([0, 0]));
    await expect(reading).rejects.toMatchObject({
      code: Code.INTERNAL,
      message: "error receiving grpc msg: the client sent no request message",
    });

    const silent = callWithBody();
    await expect(readFirstMessage(silent.call, { ...limits, timeoutMs: 50 })).rejects.toMatchObject({
      code: Code.DEADLINE_EXCEEDED,
      message: "deadline exceeded: the request message did not arrive within 50 ms",
    });
  });

  test("a gzip-compressed message is decompressed, within the limit; an unknown encoding is refused", async () => {
    const plain = new Uint8Array(600).fill(7);
    const gz = callWithBody({ "grpc-encoding": "gzip" });
    const reading = readFirstMessage(gz.call, limits);
    gz.body.write(encodeFrame(gzipSync(plain), 1));
    expect((await reading).message).toEqual(plain);

    const bomb = callWithBody({ "grpc-encoding": "gzip" });
    const tooBig = readFirstMessage(bomb.call, limits);
    bomb.body.write(encodeFrame(gzipSync(new Uint8Array(100_000)), 1));
    await expect(tooBig).rejects.toMatchObject({ code: Code.RESOURCE_EXHAUSTED });

    const odd = callWithBody({ "grpc-encoding": "snappy" });
    const refused = readFirstMessage(odd.call, limits);
    odd.body.write(encodeFrame(new Uint8Array([1]), 1));
    await expect(refused).rejects.toMatchObject({ code: Code.UNIMPLEMENTED });
  });
});
