/**
 * Hand-made HTTP/2 frames for the limit suites (RFC 9113 §4, HPACK literals of RFC 7541 §6.2.2): what a
 * misbehaving client sends — a header block trickled in CONTINUATION frames, more streams than allowed,
 * bytes that are no frame — and the reading of what the daemon answers (GOAWAY, RST_STREAM).
 */

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, END_HEADERS: 0x4 } as const;

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** One HTTP/2 frame (RFC 9113 §4.1). */
export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

function hpackInt(n: number): number[] {
  if (n < 127) return [n];
  const out = [127];
  let rest = n - 127;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** A header block of literal fields without indexing or Huffman (RFC 7541 §6.2.2): simple and valid. */
export function hpack(headers: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of headers) {
    parts.push(
      Buffer.from([0, ...hpackInt(k.length)]),
      Buffer.from(k, "latin1"),
      Buffer.from(hpackInt(v.length)),
      Buffer.from(v, "latin1"),
    );
  }
  return Buffer.concat(parts);
}

/** The request headers of a gRPC call to `path`. */
export function grpcHeaders(path: string, extra: [string, string][] = []): Buffer {
  return hpack([
    [":method", "POST"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "snetd"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ...extra,
  ]);
}

export function parseFrames(buf: Buffer): Frame[] {
  const out: Frame[] = [];
  let o = 0;
  while (buf.length - o >= 9) {
    const length = buf.readUIntBE(o, 3);
    if (buf.length - o < 9 + length) break;
    out.push({
      type: buf[o + 3] as number,
      flags: buf[o + 4] as number,
      stream: buf.readUInt32BE(o + 5) & 0x7fffffff,
      payload: buf.subarray(o + 9, o + 9 + length),
    });
    o += 9 + length;
  }
  return out;
}

/** A GOAWAY's error code and debug text, if the server sent one. */
export function goaway(frames: Frame[]): { code: number; debug: string } | undefined {
  const f = frames.find((x) => x.type === FRAME.GOAWAY);
  return f && { code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString("utf8") };
}

/** Every RST_STREAM: stream id → error code. */
export function resets(frames: Frame[]): Map<number, number> {
  return new Map(frames.filter((f) => f.type === FRAME.RST_STREAM).map((f) => [f.stream, f.payload.readUInt32BE(0)]));
}
