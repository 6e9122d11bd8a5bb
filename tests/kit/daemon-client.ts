/**
 * A grpc-js client for the daemon's own services (channel state, tokens, free calls, treasurer), using
 * the same generated schemas as the daemon so tests exercise the real wire encoding.
 */

import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

export interface RpcResult<T> {
  reply: T | undefined;
  status: { code: number; details: string };
}

/** Plaintext by default; pass TLS credentials (and e.g. `grpc.ssl_target_name_override`) for a TLS daemon port. */
export interface RpcChannel {
  credentials?: grpc.ChannelCredentials;
  options?: grpc.ChannelOptions;
}

export function daemonRpc<I extends DescMessage, O extends DescMessage>(
  address: string,
  path: string,
  input: I,
  output: O,
  channel: RpcChannel = {},
) {
  const client = new grpc.Client(
    address,
    channel.credentials ?? grpc.credentials.createInsecure(),
    channel.options ?? {},
  );
  return {
    call(
      request: MessageInitShape<I>,
      metadata = new grpc.Metadata(),
      deadlineMs = 10_000,
    ): Promise<RpcResult<MessageShape<O>>> {
      return new Promise((resolve) => {
        client.makeUnaryRequest(
          path,
          (r: MessageInitShape<I>) => Buffer.from(toBinary(input, create(input, r))),
          (b: Buffer) => fromBinary(output, b),
          request,
          metadata,
          { deadline: Date.now() + deadlineMs },
          (err, reply) => {
            if (err) resolve({ reply: undefined, status: { code: err.code, details: err.details } });
            else resolve({ reply: reply as MessageShape<O>, status: { code: 0, details: "" } });
          },
        );
      });
    },
    close: () => client.close(),
  };
}
