/**
 * A minimal etcd v3 gRPC client over node:http2: unary calls with one absolute deadline and fail-over,
 * and bidirectional streams (watch, lease keep-alive). Messages are protobuf-es types generated from
 * proto/etcd/.
 *
 * Fail-over: a request goes to the current endpoint. When no session to it can be established the request
 * provably never left, so it moves to the next endpoint, commit or not. A request written to a connected
 * session that then fails has an unknown outcome: a read may be asked again (of the next endpoint when the
 * member looks unwell) until its deadline, a commit never (etcd-errors.ts says which failure is which).
 * Sessions are per member (etcd-connection.ts) and each request is one HTTP/2 stream (etcd-streams.ts);
 * there is no background reconnection.
 */
import type { ClientHttp2Session } from "node:http2";
import { type DescMessage, type DescMethod, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { encodeFrame } from "../core/grpc-frames.ts";
import { type KeepaliveOptions, type MemberConnection, memberConnection, type TlsMaterial } from "./etcd-connection.ts";
import { EtcdRequestError, memberUnwell, neverSent, readRetriable } from "./etcd-errors.ts";
import { type BidiStream, bidi, once, type Rpc, type StreamHandlers } from "./etcd-streams.ts";

export type { BidiStream, Rpc, StreamHandlers } from "./etcd-streams.ts";

export interface EtcdClientOptions {
  endpoints: readonly string[];
  tls?: TlsMaterial;
  /** Upper bound on establishing one session. */
  connectionTimeoutMs: number;
  keepalive?: KeepaliveOptions;
}

export interface CallOptions {
  /** Absolute deadline (ms since the epoch) for the request, retries included. */
  deadline: number;
  /**
   * True when asking twice is harmless (reads; lease grants, whose extra lease expires unused), so a request
   * may be asked again after a failure mid-flight; false sends it again only when it provably never left.
   */
  resend: boolean;
}

export interface EtcdClient {
  /** The endpoints, quoted and joined, for error messages. */
  readonly where: string;
  unary<I extends DescMessage, O extends DescMessage>(
    rpc: Rpc<I, O>,
    request: MessageShape<I>,
    opts: CallOptions,
  ): Promise<MessageShape<O>>;
  /** Opens a stream on the first endpoint that connects, trying each in turn until `deadline`. */
  stream<I extends DescMessage, O extends DescMessage>(
    rpc: Rpc<I, O>,
    handlers: StreamHandlers<O>,
    deadline: number,
  ): Promise<BidiStream<I>>;
  close(): void;
}

/** Pause between rounds over every endpoint, and between retries of a read. */
const RETRY_PAUSE_MS = 50;
/** Rounds over all endpoints for a request whose every attempt failed to connect. */
const CONNECT_ROUNDS = 2;

const pathOf = (rpc: DescMethod) => `/${rpc.parent.typeName}/${rpc.name}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** A client of the etcd members at `endpoints`; sessions are opened on first use. */
export function etcdClient(opts: EtcdClientOptions): EtcdClient {
  const members: MemberConnection[] = opts.endpoints.map((e) => memberConnection(e, opts.tls, opts.keepalive));
  const where = `"${opts.endpoints.join(",")}"`;
  let current = 0;
  let closed = false;

  /** Later requests start at the next endpoint, unless another failure already moved on. */
  const demote = (index: number) => {
    if (current === index) current = (index + 1) % members.length;
  };

  /** A connected session of the member at `index`, bounded by the deadline (and by half of what is left when there are other members to try). */
  const sessionOf = (index: number, deadline: number): ClientHttp2Session | Promise<ClientHttp2Session> => {
    const m = members[index]!;
    const s = m.ready();
    if (s) return s;
    const left = deadline - Date.now();
    const bound = Math.min(opts.connectionTimeoutMs, members.length > 1 ? Math.max(left / 2, 1) : left);
    if (left <= 0)
      return Promise.reject(
        new EtcdRequestError(`no time left to connect to "${m.endpoint}"`, {
          endpoint: m.endpoint,
          sent: false,
          timedOut: true,
        }),
      );
    return m.connect(bound);
  };

  async function unary<I extends DescMessage, O extends DescMessage>(
    rpc: Rpc<I, O>,
    request: MessageShape<I>,
    call: CallOptions,
  ): Promise<MessageShape<O>> {
    const frame = encodeFrame(toBinary(rpc.input, request));
    const path = pathOf(rpc);
    let refusals = 0;
    for (;;) {
      if (closed) throw new EtcdRequestError("the etcd client is closed", { endpoint: where, sent: false });
      const index = current;
      try {
        const s = sessionOf(index, call.deadline);
        const session = s instanceof Promise ? await s : s;
        const payload = await once(members[index]!, session, path, frame, call.deadline);
        return fromBinary(rpc.output, payload);
      } catch (err) {
        if (memberUnwell(err)) demote(index);
        const left = call.deadline - Date.now();
        if (neverSent(err) && !(err as EtcdRequestError).timedOut) {
          if (++refusals >= members.length * CONNECT_ROUNDS || left <= RETRY_PAUSE_MS) throw err;
          if (refusals % members.length === 0) await sleep(RETRY_PAUSE_MS);
          continue;
        }
        if (!call.resend || !readRetriable(err) || left <= RETRY_PAUSE_MS) throw err;
        await sleep(RETRY_PAUSE_MS);
      }
    }
  }

  async function stream<I extends DescMessage, O extends DescMessage>(
    rpc: Rpc<I, O>,
    handlers: StreamHandlers<O>,
    deadline: number,
  ): Promise<BidiStream<I>> {
    let last: unknown;
    for (let attempt = 0; attempt < members.length * CONNECT_ROUNDS && Date.now() < deadline && !closed; attempt++) {
      const index = current;
      const member = members[index]!;
      try {
        const s = sessionOf(index, deadline);
        const session = s instanceof Promise ? await s : s;
        // etcd's "hasleader" metadata: a member cut off from the leader ends the stream instead of serving it stale.
        const h2 = member.request(session, {
          ":method": "POST",
          ":path": pathOf(rpc),
          "content-type": "application/grpc",
          te: "trailers",
          hasleader: "true",
        });
        return bidi(member, h2, rpc, handlers, () => demote(index));
      } catch (err) {
        last =
          err instanceof EtcdRequestError
            ? err
            : new EtcdRequestError(
                `cannot open a stream to "${member.endpoint}": ${(err as Error).message}`,
                { endpoint: member.endpoint, sent: false },
                { cause: err },
              );
        demote(index);
        if ((attempt + 1) % members.length === 0) await sleep(RETRY_PAUSE_MS);
      }
    }
    throw (
      last ??
      new EtcdRequestError(
        closed ? "the etcd client is closed" : `no etcd member of ${where} accepted a stream in time`,
        { endpoint: where, sent: false, timedOut: !closed },
      )
    );
  }

  return {
    where,
    unary,
    stream,
    close() {
      closed = true;
      for (const m of members) m.close();
    },
  };
}
