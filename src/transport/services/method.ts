/**
 * The daemon's own gRPC methods (channel state, tokens, free calls, treasurer, health), decoded with the
 * generated protobuf-es schemas and served over the same ServerCall as proxied calls.
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { type SnetError, toSnetError } from "../../core/errors.ts";
import { decodeFrames, encodeFrame } from "../../core/grpc-frames.ts";
import { compressedRequest, expectedOneMessage, malformedRequest } from "../../core/messages/requests.ts";
import { clientMessageTooLarge } from "../../core/messages/service.ts";
import type { ServerCall } from "../call.ts";
import type { MethodTypes } from "../connect-codec.ts";
import type { Metadata } from "../metadata.ts";
import { statusTrailers } from "../status.ts";

export interface MethodContext {
  readonly metadata: Metadata;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** The client's deadline in ms from arrival, undefined when it set none. */
  readonly timeoutMs: number | undefined;
}

export interface DaemonMethod {
  readonly path: string;
  /** Request and reply types, for Connect JSON calls; absent for methods served on raw bytes. */
  readonly types?: MethodTypes;
  /** Serves one call; `onError` hears every refusal (for a debug log line), the client gets the status. */
  serve(call: ServerCall, maxMessageBytes: number, onError?: (path: string, err: SnetError) => void): Promise<void>;
}

/** Frame decoder failures (truncated, bad length) are the client's fault: INVALID_ARGUMENT, never INTERNAL. */
function decoded<T>(decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    throw malformedRequest(err instanceof Error ? err.message : String(err));
  }
}

async function readRequest(call: ServerCall, maxMessageBytes: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  let announced: number | undefined;
  // Not `for await`: leaving that loop by a throw destroys the stream, and the client would see the
  // connection reset instead of the refusal the trailers carry (client-stream.ts does the same).
  const body = (call.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (let next = await body.next(); !next.done; next = await body.next()) {
    chunks.push(next.value);
    size += next.value.length;
    // The frame header says how long the message is: refuse it then, not after reading it.
    if (announced === undefined && size >= 5) {
      announced = Buffer.concat(chunks).readUInt32BE(1);
      if (announced > maxMessageBytes) throw clientMessageTooLarge(announced, maxMessageBytes);
    }
    if (size > maxMessageBytes + 5) throw clientMessageTooLarge(size, maxMessageBytes);
  }
  const frames = decoded(() => decodeFrames(Buffer.concat(chunks)));
  if (frames.length !== 1) throw expectedOneMessage(frames.length);
  if ((frames[0]!.flag & 1) !== 0) throw compressedRequest();
  return frames[0]!.payload;
}

/** The context of a daemon method's call. */
export function contextOf(call: ServerCall): MethodContext {
  const controller = new AbortController();
  call.onCancel(() => controller.abort());
  return { metadata: call.metadata, signal: controller.signal, timeoutMs: call.timeoutMs };
}

/** Decodes a request message; bytes that are not one are the client's fault, said as INVALID_ARGUMENT. */
export function decodeRequest<I extends DescMessage>(path: string, input: I, bytes: Uint8Array): MessageShape<I> {
  try {
    return fromBinary(input, bytes);
  } catch (err) {
    throw malformedRequest(`${path} as ${input.typeName}: ${(err as Error).message}`);
  }
}

/** Ends a call with the status of `err`, telling `onError` first. */
function refuse(call: ServerCall, err: unknown, onError?: (path: string, err: SnetError) => void): void {
  const e = toSnetError(err);
  onError?.(call.path, e);
  call.finish(statusTrailers(e));
}

/** A unary method on raw message bytes, for requests whose shape must be told from the bytes first; `types` for Connect JSON. */
export function unaryBytes(
  path: string,
  handle: (request: Uint8Array, ctx: MethodContext) => Promise<Uint8Array>,
  types?: MethodTypes,
): DaemonMethod {
  return {
    path,
    ...(types ? { types } : {}),
    async serve(call, maxMessageBytes, onError) {
      try {
        const reply = await handle(await readRequest(call, maxMessageBytes), contextOf(call));
        call.sendHeaders({ "content-type": "application/grpc" });
        call.write(encodeFrame(reply));
        call.finish({ "grpc-status": "0" });
      } catch (err) {
        refuse(call, err, onError);
      }
    },
  };
}

/** A unary method: one request message in, one reply out; thrown SnetErrors become the status. */
export function unary<I extends DescMessage, O extends DescMessage>(
  path: string,
  input: I,
  output: O,
  handle: (request: MessageShape<I>, ctx: MethodContext) => Promise<MessageInitShape<O>>,
): DaemonMethod {
  const served = unaryBytes(path, async (bytes, ctx) =>
    toBinary(output, create(output, await handle(decodeRequest(path, input, bytes), ctx))),
  );
  return { ...served, types: { input, output, kind: "unary" } };
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
    types: { input, output, kind: "server_streaming" },
    async serve(call, maxMessageBytes, onError) {
      try {
        const request = decodeRequest(path, input, await readRequest(call, maxMessageBytes));
        call.sendHeaders({ "content-type": "application/grpc" });
        await handle(request, contextOf(call), (reply) =>
          call.write(encodeFrame(toBinary(output, create(output, reply)))),
        );
        call.finish({ "grpc-status": "0" });
      } catch (err) {
        refuse(call, err, onError);
      }
    },
  };
}

/** The daemon's own methods by path, for the listener. */
export function methodTable(methods: readonly DaemonMethod[]): ReadonlyMap<string, DaemonMethod> {
  return new Map(methods.map((m) => [m.path, m]));
}
