/**
 * The first request message of a call, read before the call goes anywhere: the one message a non-gRPC
 * service gets (protocol/upstreams.md#adapter-selection), or the input of a dynamic price
 * (protocol/upstreams.md#price-call). Bounded in size (the frame header is checked before the message
 * is buffered) and in time. For a gRPC passthrough the bytes read are put back in front of the rest of
 * the body (`withReplayedBody`), so the service sees the stream unchanged.
 */
import { PassThrough, type Readable } from "node:stream";
import { promisify } from "node:util";
import { gunzip, inflate } from "node:zlib";
import type { SnetError } from "../core/errors.ts";
import { FRAME_HEADER } from "../core/grpc-frames.ts";
import {
  cancelledByClient,
  clientMessageTooLarge,
  noRequestMessage,
  requestEncodingUnsupported,
  requestMessageLate,
  requestUndecompressable,
} from "../core/messages/service.ts";
import type { ServerCall } from "./call.ts";

export interface FirstMessage {
  /** The message, unframed and decompressed. */
  readonly message: Uint8Array;
  /** Every chunk read from the body so far: the frame and whatever arrived with it. */
  readonly consumed: readonly Buffer[];
}

export interface FirstMessageOptions {
  readonly maxMessageBytes: number;
  readonly timeoutMs: number;
}

const decompressors: Record<string, (data: Buffer, o: { maxOutputLength: number }) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
};

/** Reads the call's first message; rejects with a SnetError (too large, late, absent, cancelled). */
export async function readFirstMessage(call: ServerCall, o: FirstMessageOptions): Promise<FirstMessage> {
  const { flag, payload, consumed } = await readFrame(call.body, o);
  if (flag === 0) return { message: payload, consumed };
  const encoding = call.metadata.get("grpc-encoding")?.[0] ?? "identity";
  const decompress = decompressors[encoding];
  if (!decompress) throw requestEncodingUnsupported(encoding);
  try {
    return { message: await decompress(Buffer.from(payload), { maxOutputLength: o.maxMessageBytes }), consumed };
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw clientMessageTooLarge(o.maxMessageBytes + 1, o.maxMessageBytes);
    }
    throw requestUndecompressable((err as Error).message);
  }
}

function readFrame(
  body: Readable,
  o: FirstMessageOptions,
): Promise<{ flag: number; payload: Uint8Array; consumed: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const consumed: Buffer[] = [];
    let total = 0;
    let needed: number | undefined;
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Paused first: without a 'data' listener a flowing stream would drop what comes next.
      body.pause();
      body.off("data", onData);
      body.off("end", onEnd);
      body.off("error", onGone);
      body.off("close", onGone);
      outcome();
    };
    const fail = (err: SnetError) => finish(() => reject(err));
    const onData = (chunk: Buffer) => {
      consumed.push(chunk);
      total += chunk.length;
      if (needed === undefined && total >= FRAME_HEADER) {
        const length = Buffer.concat(consumed).readUInt32BE(1);
        if (length > o.maxMessageBytes) return fail(clientMessageTooLarge(length, o.maxMessageBytes));
        needed = FRAME_HEADER + length;
      }
      if (needed !== undefined && total >= needed) {
        const all = Buffer.concat(consumed);
        const frame = { flag: all[0] as number, payload: all.subarray(FRAME_HEADER, needed), consumed };
        finish(() => resolve(frame));
      }
    };
    const onEnd = () => fail(noRequestMessage());
    const onGone = () => fail(cancelledByClient());
    const timer = setTimeout(() => fail(requestMessageLate(o.timeoutMs)), o.timeoutMs);
    body.on("data", onData);
    body.once("end", onEnd);
    body.once("error", onGone);
    body.once("close", onGone);
    body.resume();
  });
}

/** The call with the bytes `first` consumed put back in front of the rest of its body. */
export function withReplayedBody(call: ServerCall, first: FirstMessage): ServerCall {
  const body = new PassThrough();
  for (const chunk of first.consumed) body.write(chunk);
  const rest = call.body;
  rest.once("error", (err) => body.destroy(err));
  // pipe() ends `body` when `rest` ends, also when it already has.
  rest.pipe(body);
  return {
    path: call.path,
    metadata: call.metadata,
    timeoutMs: call.timeoutMs,
    protocol: call.protocol,
    peer: call.peer,
    body,
    sendHeaders: (h) => call.sendHeaders(h),
    write: (chunk) => call.write(chunk),
    onDrain: (l) => call.onDrain(l),
    finish: (t) => call.finish(t),
    onCancel: (l) => call.onCancel(l),
    get finished() {
      return call.finished;
    },
  };
}
