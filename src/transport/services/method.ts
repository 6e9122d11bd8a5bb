/**
 * The daemon's own gRPC methods (channel state, tokens, free calls, treasurer, health), decoded with the
 * generated protobuf-es schemas and served over the same ServerCall as proxied calls.
 */
import { type DescMessage, type MessageInitShape, type MessageShape, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { toSnetError } from "../../core/errors.ts";
import { compressedRequest, expectedOneMessage, malformedRequest } from "../../core/messages/requests.ts";
import { clientMessageTooLarge } from "../../core/messages/service.ts";
import type { ServerCall } from "../call.ts";
import { decodeFrames, encodeFrame } from "../grpc-frames.ts";
import type { Metadata } from "../metadata.ts";
import { statusTrailers } from "../status.ts";

export interface MethodContext {
  readonly metadata: Metadata;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

export interface DaemonMethod {
  readonly path: string;
  serve(call: ServerCall, maxMessageBytes: number): Promise<void>;
}

/** Decoder failures (truncated frames, bad wire types) are the client's fault: INVALID_ARGUMENT, never INTERNAL. */
function decoded<T>(decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    throw malformedRequest(err instanceof Error ? err.message : String(err));
  }
}

/** The one request message of a daemon call, decoded with the method's schema. */
async function readMessage<I extends DescMessage>(input: I, call: ServerCall, maxMessageBytes: number): Promise<MessageShape<I>> {
  const payload = await readRequest(call, maxMessageBytes);
  return decoded(() => fromBinary(input, payload));
}

async function readRequest(call: ServerCall, maxMessageBytes: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of call.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxMessageBytes + 5) throw clientMessageTooLarge(size, maxMessageBytes);
    chunks.push(chunk);
  }
  const frames = decoded(() => decodeFrames(Buffer.concat(chunks)));
  if (frames.length !== 1) throw expectedOneMessage(frames.length);
  if ((frames[0]!.flag & 1) !== 0) throw compressedRequest();
  return frames[0]!.payload;
}

function contextOf(call: ServerCall): MethodContext {
  const controller = new AbortController();
  call.onCancel(() => controller.abort());
  return { metadata: call.metadata, signal: controller.signal };
}

/** A unary method: one request message in, one reply out; thrown SnetErrors become the status. */
export function unary<I extends DescMessage, O extends DescMessage>(
  path: string,
  input: I,
  output: O,
  handle: (request: MessageShape<I>, ctx: MethodContext) => Promise<MessageInitShape<O>>,
): DaemonMethod {
  return {
    path,
    async serve(call, maxMessageBytes) {
      try {
        const request = await readMessage(input, call, maxMessageBytes);
        const reply = await handle(request, contextOf(call));
        call.sendHeaders({ "content-type": "application/grpc" });
        call.write(encodeFrame(toBinary(output, create(output, reply))));
        call.finish({ "grpc-status": "0" });
      } catch (err) {
        call.finish(statusTrailers(toSnetError(err)));
      }
    },
  };
}

/** A server-streaming method: `send` writes one reply; resolve to end the stream with OK. */
export function serverStream<I extends DescMessage, O extends DescMessage>(
  path: string,
  input: I,
  output: O,
  handle: (request: MessageShape<I>, ctx: MethodContext, send: (reply: MessageInitShape<O>) => void) => Promise<void>,
): DaemonMethod {
  return {
    path,
    async serve(call, maxMessageBytes) {
      try {
        const request = await readMessage(input, call, maxMessageBytes);
        call.sendHeaders({ "content-type": "application/grpc" });
        await handle(request, contextOf(call), (reply) => call.write(encodeFrame(toBinary(output, create(output, reply)))));
        call.finish({ "grpc-status": "0" });
      } catch (err) {
        call.finish(statusTrailers(toSnetError(err)));
      }
    },
  };
}

export function methodTable(methods: readonly DaemonMethod[]): ReadonlyMap<string, DaemonMethod> {
  return new Map(methods.map((m) => [m.path, m]));
}
