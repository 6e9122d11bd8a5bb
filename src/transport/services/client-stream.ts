/**
 * Client-streaming daemon methods (training.Daemon/upload_and_validate): request messages are decoded as
 * their frames complete and handed over one at a time, with the body paused while the handler works, so
 * a large stream never sits in memory. Each message is held to `max_message_size_in_mb` before it is
 * buffered.
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { toSnetError } from "../../core/errors.ts";
import { encodeFrame, FRAME_HEADER } from "../../core/grpc-frames.ts";
import { compressedRequest, truncatedRequest } from "../../core/messages/requests.ts";
import { clientMessageTooLarge } from "../../core/messages/service.ts";
import type { ServerCall } from "../call.ts";
import { statusTrailers } from "../status.ts";
import { contextOf, type DaemonMethod, type MethodContext } from "./method.ts";

/** The messages of a gRPC request body, decoded one by one as their bytes arrive. */
async function* messagesOf<I extends DescMessage>(
  body: AsyncIterable<Buffer>,
  input: I,
  maxMessageBytes: number,
): AsyncGenerator<MessageShape<I>> {
  // Chunks are kept as a list and joined once per message: a 1 MiB message arrives in many small chunks.
  let parts: Buffer[] = [];
  let buffered = 0;
  const take = (n: number): Buffer => {
    const all = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, buffered);
    const rest = all.subarray(n);
    parts = rest.length > 0 ? [rest] : [];
    buffered = rest.length;
    return all.subarray(0, n);
  };
  let header: Buffer | undefined;
  // Not `for await`: leaving that loop by a throw destroys the stream (RST_STREAM CANCEL), and the
  // client would see CANCELLED instead of the refusal the trailers carry.
  const chunks = body[Symbol.asyncIterator]();
  for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
    const chunk = next.value;
    parts.push(chunk);
    buffered += chunk.length;
    for (;;) {
      if (!header) {
        if (buffered < FRAME_HEADER) break;
        header = take(FRAME_HEADER);
        const length = header.readUInt32BE(1);
        if (length > maxMessageBytes) throw clientMessageTooLarge(length, maxMessageBytes);
        if ((header[0] as number) & 1) throw compressedRequest();
      }
      const length = header.readUInt32BE(1);
      if (buffered < length) break;
      header = undefined;
      yield fromBinary(input, take(length));
    }
  }
  if (header || buffered > 0)
    throw truncatedRequest(header ? header.readUInt32BE(1) - buffered : FRAME_HEADER - buffered);
}

/** A client-streaming method: `handle` reads the requests and resolves to the one reply. */
export function clientStream<I extends DescMessage, O extends DescMessage>(
  path: string,
  input: I,
  output: O,
  handle: (requests: AsyncIterable<MessageShape<I>>, ctx: MethodContext) => Promise<MessageInitShape<O>>,
): DaemonMethod {
  return {
    path,
    async serve(call: ServerCall, maxMessageBytes: number) {
      try {
        const reply = await handle(
          messagesOf(call.body as AsyncIterable<Buffer>, input, maxMessageBytes),
          contextOf(call),
        );
        call.sendHeaders({ "content-type": "application/grpc" });
        call.write(encodeFrame(toBinary(output, create(output, reply))));
        call.finish({ "grpc-status": "0" });
      } catch (err) {
        // The rest of the body is dropped so the stream can close cleanly.
        call.body.resume();
        call.finish(statusTrailers(toSnetError(err)));
      }
    },
  };
}
