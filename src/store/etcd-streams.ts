/**
 * The HTTP/2 stream of one etcd request, on a session etcd-client.ts chose: a unary call (`once`: one
 * message out, exactly one back, within the deadline) or a bidirectional stream (`bidi`: watch, lease
 * keep-alive), and what a stream that ended without status 0 says about its request (`failureOf`: answered,
 * refused, timed out or cut off), from which etcd-client.ts decides whether to ask again.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { type DescMessage, type DescMethod, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { decodeGrpcMessage, encodeFrame, formatGrpcTimeout, frameReader } from "../core/grpc-frames.ts";
import type { MemberConnection } from "./etcd-connection.ts";
import { EtcdRequestError, errnoOf, HTTP2_REFUSED_STREAM, memberUnwell, statusName } from "./etcd-errors.ts";

/** A method of proto/etcd/rpc.proto, e.g. `KV.method.range`. */
export type Rpc<I extends DescMessage, O extends DescMessage> = DescMethod & { input: I; output: O };

/** The sending half of a bidirectional stream. */
export interface BidiStream<I extends DescMessage> {
  readonly endpoint: string;
  send(message: MessageShape<I>): void;
  /** Ends the stream from our side; `end` of the handlers is then called with no error. */
  close(): void;
}

export interface StreamHandlers<O extends DescMessage> {
  message(message: MessageShape<O>): void;
  /** The stream is over: `err` is undefined when we closed it, else what broke it. */
  end(err: EtcdRequestError | undefined): void;
}

/** The gRPC status of a response's headers or trailers, if they carry one. */
function statusOf(h: IncomingHttpHeaders): { status: number; message: string } | undefined {
  const raw = h["grpc-status"];
  if (raw === undefined) return undefined;
  const message = h["grpc-message"];
  return { status: Number(raw), message: typeof message === "string" ? decodeGrpcMessage(message) : "" };
}

/** What a stream that ended without status 0 says about the request. */
function failureOf(
  endpoint: string,
  answer: { status: number; message: string } | undefined,
  h2: ClientHttp2Stream,
  streamError: unknown,
  timedOut: boolean,
): EtcdRequestError {
  if (answer) {
    return new EtcdRequestError(
      `"${endpoint}" answered ${statusName(answer.status)}: ${answer.message || "(no message)"}`,
      { endpoint, sent: true, status: answer.status, ...(timedOut ? { timedOut } : {}) },
    );
  }
  const rstCode = h2.rstCode;
  const errno = errnoOf(streamError);
  const refused = rstCode === HTTP2_REFUSED_STREAM;
  const why = timedOut
    ? "no answer before the deadline"
    : refused
      ? "the stream was refused"
      : streamError instanceof Error
        ? streamError.message
        : `the stream ended with code ${rstCode ?? "none"}`;
  return new EtcdRequestError(
    `"${endpoint}" gave no answer: ${why}`,
    {
      endpoint,
      sent: !refused,
      ...(errno ? { errno } : {}),
      ...(rstCode ? { rstCode } : {}),
      ...(timedOut ? { timedOut } : {}),
    },
    streamError === undefined ? {} : { cause: streamError },
  );
}

/** One unary request on a connected session: the single response message, or an EtcdRequestError. */
export function once(
  member: MemberConnection,
  session: ClientHttp2Session,
  path: string,
  frame: Uint8Array,
  deadline: number,
): Promise<Uint8Array> {
  const endpoint = member.endpoint;
  return new Promise<Uint8Array>((resolve, reject) => {
    const left = deadline - Date.now();
    if (left <= 0)
      return reject(
        new EtcdRequestError("no time left to send the request", { endpoint, sent: false, timedOut: true }),
      );
    let h2: ClientHttp2Stream;
    try {
      h2 = member.request(session, {
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-timeout": formatGrpcTimeout(left),
      });
    } catch (err) {
      // The session refused to open a stream (closing, GOAWAY): nothing was written.
      return reject(
        new EtcdRequestError(
          `cannot open a stream to "${endpoint}": ${(err as Error).message}`,
          { endpoint, sent: false },
          { cause: err },
        ),
      );
    }
    let answer: { status: number; message: string } | undefined;
    let streamError: unknown;
    let timedOut = false;
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      timedOut = true;
      h2.close(http2.constants.NGHTTP2_CANCEL);
    }, left);
    h2.on("response", (h) => (answer = statusOf(h) ?? answer));
    h2.on("trailers", (t) => (answer = statusOf(t) ?? answer));
    h2.on("data", (c: Buffer) => chunks.push(c));
    h2.on("error", (err) => (streamError = err));
    h2.on("close", () => {
      clearTimeout(timer);
      if (!timedOut && Date.now() >= deadline) timedOut = true;
      if (answer?.status === 0 && !timedOut) {
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        if (body.length >= 5 && body.readUInt32BE(1) === body.length - 5) return resolve(body.subarray(5));
        return reject(
          new EtcdRequestError(`"${endpoint}" answered OK without exactly one message`, {
            endpoint,
            sent: true,
            status: 13,
          }),
        );
      }
      reject(failureOf(endpoint, answer?.status === 0 ? undefined : answer, h2, streamError, timedOut));
    });
    h2.end(frame);
  });
}

/** Wraps an open HTTP/2 stream as a gRPC bidirectional stream of `rpc`. */
export function bidi<I extends DescMessage, O extends DescMessage>(
  member: MemberConnection,
  h2: ClientHttp2Stream,
  rpc: Rpc<I, O>,
  handlers: StreamHandlers<O>,
  unwell: () => void,
): BidiStream<I> {
  let answer: { status: number; message: string } | undefined;
  let streamError: unknown;
  let closedByUs = false;
  const read = frameReader((payload) => {
    if (closedByUs) return;
    let message: MessageShape<O>;
    try {
      message = fromBinary(rpc.output, payload);
    } catch (err) {
      streamError = err;
      h2.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    handlers.message(message);
  });
  h2.on("response", (h) => (answer = statusOf(h) ?? answer));
  h2.on("trailers", (t) => (answer = statusOf(t) ?? answer));
  h2.on("data", read);
  h2.on("error", (err) => (streamError = err));
  h2.on("close", () => {
    if (closedByUs) return handlers.end(undefined);
    const failure = failureOf(member.endpoint, answer?.status === 0 ? undefined : answer, h2, streamError, false);
    if (memberUnwell(failure)) unwell();
    handlers.end(failure);
  });
  return {
    endpoint: member.endpoint,
    send(message) {
      if (!h2.destroyed && !h2.writableEnded) h2.write(encodeFrame(toBinary(rpc.input, message)));
    },
    close() {
      if (closedByUs) return;
      closedByUs = true;
      h2.close(http2.constants.NGHTTP2_CANCEL);
    },
  };
}
