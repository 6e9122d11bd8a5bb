import { describe, expect, test } from "bun:test";
import {
  decodeFrames,
  decodeGrpcMessage,
  encodeFrame,
  encodeGrpcMessage,
  FRAME_HEADER,
  formatGrpcTimeout,
  frameSizeWatcher,
  parseGrpcTimeout,
  TRAILER_FLAG,
} from "../../src/core/grpc-frames.ts";

const bytes = (...values: number[]) => Uint8Array.from(values);

describe("encodeFrame", () => {
  test("writes flag, big-endian length and payload", () => {
    expect([...encodeFrame(bytes(0xaa, 0xbb, 0xcc))]).toEqual([0, 0, 0, 0, 3, 0xaa, 0xbb, 0xcc]);
    expect([...encodeFrame(bytes(), TRAILER_FLAG)]).toEqual([0x80, 0, 0, 0, 0]);
  });

  test("encodes lengths above 16 bits in all four length bytes", () => {
    const frame = encodeFrame(new Uint8Array(0x01_02_03));
    expect([...frame.subarray(0, FRAME_HEADER)]).toEqual([0, 0x00, 0x01, 0x02, 0x03]);
    expect(frame.length).toBe(FRAME_HEADER + 0x01_02_03);
  });
});

describe("decodeFrames", () => {
  test("splits concatenated frames, keeping flags and payloads", () => {
    const body = Buffer.concat([encodeFrame(bytes(1, 2)), encodeFrame(bytes()), encodeFrame(bytes(9), TRAILER_FLAG)]);
    const frames = decodeFrames(body);
    expect(frames.map((f) => f.flag)).toEqual([0, 0, TRAILER_FLAG]);
    expect(frames.map((f) => [...f.payload])).toEqual([[1, 2], [], [9]]);
  });

  test("reads a body that is a view into a larger buffer", () => {
    const backing = new Uint8Array(64).fill(0xee);
    backing.set(encodeFrame(bytes(7, 8, 9)), 10);
    const frames = decodeFrames(backing.subarray(10, 10 + FRAME_HEADER + 3));
    expect(frames.map((f) => [...f.payload])).toEqual([[7, 8, 9]]);
  });

  test("returns no frames for an empty body", () => {
    expect(decodeFrames(new Uint8Array())).toEqual([]);
  });

  test("throws on a truncated header and on a truncated message", () => {
    expect(() => decodeFrames(bytes(0, 0, 0))).toThrow("truncated gRPC frame header");
    expect(() => decodeFrames(encodeFrame(bytes(1, 2, 3)).subarray(0, 7))).toThrow("truncated gRPC message");
  });
});

describe("frameSizeWatcher", () => {
  const max = 10;
  const frameOf = (size: number) => encodeFrame(new Uint8Array(size));

  test("accepts messages up to the limit, however the bytes are chunked", () => {
    const stream = Buffer.concat([frameOf(max), frameOf(0), frameOf(3), frameOf(max)]);
    for (const chunkSize of [1, 2, 3, 4, 5, 7, stream.length]) {
      const watch = frameSizeWatcher(max);
      for (let i = 0; i < stream.length; i += chunkSize)
        expect(watch(stream.subarray(i, i + chunkSize))).toBeUndefined();
    }
  });

  test("reports the length of the first message over the limit", () => {
    const watch = frameSizeWatcher(max);
    expect(watch(Buffer.concat([frameOf(4), frameOf(max + 1)]))).toBe(max + 1);
  });

  test("reports an oversized message from its header alone, before any of its body", () => {
    const watch = frameSizeWatcher(max);
    const header = frameOf(1_000_000).subarray(0, FRAME_HEADER);
    // Header split across chunks: flag + two length bytes, then the last two length bytes.
    expect(watch(header.subarray(0, 3))).toBeUndefined();
    expect(watch(header.subarray(3))).toBe(1_000_000);
  });

  test("reads all four length bytes (a length above 2^24)", () => {
    const watch = frameSizeWatcher(2 ** 24);
    expect(watch(bytes(0, 0x01, 0x00, 0x00, 0x01))).toBe(2 ** 24 + 1);
  });

  test("ignores the flag byte (compressed and trailer frames count by length only)", () => {
    const watch = frameSizeWatcher(max);
    expect(
      watch(Buffer.concat([encodeFrame(new Uint8Array(max), 1), encodeFrame(new Uint8Array(2), TRAILER_FLAG)])),
    ).toBeUndefined();
    expect(watch(encodeFrame(new Uint8Array(max + 5), 1))).toBe(max + 5);
  });
});

describe("grpc-message encoding", () => {
  test("keeps printable ASCII, including inner spaces", () => {
    expect(encodeGrpcMessage('missing "snet-payment-type"')).toBe('missing "snet-payment-type"');
  });

  test("percent-encodes '%', control bytes and UTF-8", () => {
    expect(encodeGrpcMessage("100%\n")).toBe("100%25%0A");
    expect(encodeGrpcMessage("naïve")).toBe("na%C3%AFve");
  });

  test("percent-encodes a leading or trailing space, an invalid HTTP/2 field edge (errors.md#status-encoding)", () => {
    expect(encodeGrpcMessage("Unable to retrieve planned Amount ")).toBe("Unable to retrieve planned Amount%20");
    expect(encodeGrpcMessage(" x")).toBe("%20x");
    expect(encodeGrpcMessage(" ")).toBe("%20");
  });

  test("decodes back to the original text", () => {
    for (const text of ["plain", "Unable to retrieve planned Amount ", "100% ünïcode\r\n", " edges "]) {
      expect(decodeGrpcMessage(encodeGrpcMessage(text))).toBe(text);
    }
  });

  test("returns malformed percent-encoding unchanged", () => {
    expect(decodeGrpcMessage("50%zz")).toBe("50%zz");
  });
});

describe("grpc-timeout", () => {
  test("parses every unit into milliseconds", () => {
    expect(parseGrpcTimeout("2H")).toBe(7_200_000);
    expect(parseGrpcTimeout("3M")).toBe(180_000);
    expect(parseGrpcTimeout("5S")).toBe(5000);
    expect(parseGrpcTimeout("100m")).toBe(100);
    expect(parseGrpcTimeout("1500u")).toBe(1.5);
    expect(parseGrpcTimeout("2000000n")).toBe(2);
    expect(parseGrpcTimeout("99999999S")).toBe(99_999_999_000);
  });

  test("is undefined when absent or malformed", () => {
    for (const value of [undefined, "", "5", "S", "5s", "-5S", "1.5S", "123456789m", " 5S"]) {
      expect(parseGrpcTimeout(value)).toBeUndefined();
    }
  });

  test("formats milliseconds within the 8-digit limit, never rounding down to zero", () => {
    expect(formatGrpcTimeout(100)).toBe("100m");
    expect(formatGrpcTimeout(0.2)).toBe("1m");
    expect(formatGrpcTimeout(0)).toBe("1m");
    expect(formatGrpcTimeout(99_999_999)).toBe("99999999m");
    expect(formatGrpcTimeout(100_000_000)).toBe("100000S");
    expect(formatGrpcTimeout(100_000_001)).toBe("100001S");
  });

  test("round-trips through parse without shortening the deadline", () => {
    for (const ms of [1, 250, 30_000, 100_000_000, 2_147_483_000]) {
      expect(parseGrpcTimeout(formatGrpcTimeout(ms))).toBeGreaterThanOrEqual(ms);
    }
  });
});
