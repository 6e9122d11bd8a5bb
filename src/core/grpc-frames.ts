/**
 * gRPC length-prefixed messages (1 flag byte ‖ 4-byte big-endian length ‖ payload) and status text.
 *
 * The proxy never decodes messages; it only watches frame boundaries to enforce the size limit while
 * bytes stream through (protocol/reference-differences.md#d19: never buffer an oversized message before refusing it).
 */

export const FRAME_HEADER = 5;
/** gRPC-Web: the final frame carrying trailers has this flag bit set. */
export const TRAILER_FLAG = 0x80;

/** One gRPC message on the wire: the flag byte (0, or TRAILER_FLAG for gRPC-Web trailers), length, payload. */
export function encodeFrame(payload: Uint8Array, flag = 0): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER + payload.length);
  out[0] = flag;
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, FRAME_HEADER);
  return out;
}

/** Splits a complete body into its messages; throws on a truncated frame. */
export function decodeFrames(body: Uint8Array): { flag: number; payload: Uint8Array }[] {
  const frames: { flag: number; payload: Uint8Array }[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let offset = 0;
  while (offset < body.length) {
    if (body.length - offset < FRAME_HEADER) throw new Error("truncated gRPC frame header");
    const flag = body[offset] as number;
    const length = view.getUint32(offset + 1);
    const start = offset + FRAME_HEADER;
    if (start + length > body.length) throw new Error("truncated gRPC message");
    frames.push({ flag, payload: body.subarray(start, start + length) });
    offset = start + length;
  }
  return frames;
}

/**
 * Collects a stream's chunks and hands out each complete message as soon as its last byte arrives, for
 * clients that decode every message (a bidi stream's answers arrive in arbitrary chunks).
 */
export function frameReader(onMessage: (payload: Uint8Array, flag: number) => void): (chunk: Uint8Array) => void {
  let pending: Uint8Array = new Uint8Array(0);
  return (chunk) => {
    let buf = chunk;
    if (pending.length > 0) {
      buf = new Uint8Array(pending.length + chunk.length);
      buf.set(pending);
      buf.set(chunk, pending.length);
    }
    let offset = 0;
    while (buf.length - offset >= FRAME_HEADER) {
      const length = new DataView(buf.buffer, buf.byteOffset + offset + 1, 4).getUint32(0);
      const end = offset + FRAME_HEADER + length;
      if (end > buf.length) break;
      onMessage(buf.subarray(offset + FRAME_HEADER, end), buf[offset] as number);
      offset = end;
    }
    // Copy the incomplete rest: the caller may reuse the chunk's memory.
    pending = offset === buf.length ? new Uint8Array(0) : buf.slice(offset);
  };
}

/**
 * Follows frame boundaries across arbitrary chunks and reports the first message longer than `max`.
 * Costs a few comparisons per chunk; allocation-free.
 */
export function frameSizeWatcher(max: number): (chunk: Uint8Array) => number | undefined {
  let headerLeft = FRAME_HEADER;
  let length = 0;
  let bodyLeft = 0;
  return (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (bodyLeft > 0) {
        const take = Math.min(bodyLeft, chunk.length - i);
        bodyLeft -= take;
        i += take;
        continue;
      }
      // Header bytes: flag (skipped) then 4 length bytes.
      if (headerLeft < FRAME_HEADER) length = length * 256 + (chunk[i] as number);
      headerLeft--;
      i++;
      if (headerLeft === 0) {
        if (length > max) return length;
        bodyLeft = length;
        headerLeft = FRAME_HEADER;
        length = 0;
      }
    }
    return undefined;
  };
}

/**
 * grpc-message is percent-encoded (gRPC HTTP/2 spec): bytes outside 0x20–0x7E and '%' are escaped. A raw trailing
 * space would be an invalid HTTP/2 field value (protocol/errors.md#status-encoding), so spaces at the ends too.
 */
export function encodeGrpcMessage(message: string): string {
  const bytes = new TextEncoder().encode(message);
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    const edgeSpace = b === 0x20 && (i === 0 || i === bytes.length - 1);
    if (b < 0x20 || b > 0x7e || b === 0x25 || edgeSpace) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** The text of a percent-encoded grpc-message; a malformed escape leaves the text as it came. */
export function decodeGrpcMessage(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `grpc-timeout` (e.g. "100m", "5S") in milliseconds; undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
  return n * (unitMs[m[2] as string] as number);
}

/** A `grpc-timeout` value for `ms` milliseconds, in the unit that keeps it within gRPC's 8 digits. */
export function formatGrpcTimeout(ms: number): string {
  return ms >= 100_000_000 ? `${Math.ceil(ms / 1000)}S` : `${Math.max(1, Math.ceil(ms))}m`;
}
