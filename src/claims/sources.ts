/**
 * The two ways `snetd claim` starts claims: through the running daemon's ProviderControlService (the
 * daemon stays the only writer of its store, exactly as with snet-cli), or in-process on the store when
 * no daemon runs (and always for auto-claim inside `serve`).
 */

import { connect } from "node:net";
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, SnetError } from "../core/errors.ts";
import { signDigest } from "../core/noble-recovery.ts";
import { bytesToBigint } from "../core/numbers.ts";
import {
  type Address,
  listInProgressMessage,
  listUnclaimedMessage,
  multiClaimMessage,
  personalDigest,
} from "../core/signatures.ts";
import {
  GetPaymentsListRequestSchema,
  PaymentsListReplySchema,
  StartMultipleClaimRequestSchema,
} from "../gen/control_service_pb.ts";
import type { Treasury } from "../payments/treasury.ts";
import type { TreasurySource } from "./claimer.ts";

export function localSource(t: Treasury): TreasurySource {
  return {
    inProgress: () => t.inProgress(),
    unclaimed: () => t.unclaimed(),
    async startClaims(ids) {
      const out = [];
      for (const id of ids) out.push(await t.startClaim(id));
      return out;
    },
  };
}

/** Whether anything accepts TCP connections at `host:port` (a daemon whose gRPC we could not use, say). */
export function somethingListens(endpoint: string, timeoutMs: number): Promise<boolean> {
  const m = /^(?:[a-z]+:\/\/)?\[?([^\]]*?)\]?:(\d+)$/i.exec(endpoint);
  if (!m) return Promise.resolve(false);
  const host = m[1] === "" || m[1] === "0.0.0.0" || m[1] === "::" ? "127.0.0.1" : (m[1] as string);
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(m[2]), timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

/** The running daemon's control service did not answer (as opposed to answering with a refusal). */
export class DaemonUnreachableError extends SnetError {
  override readonly name = "DaemonUnreachableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(Code.UNAVAILABLE, message, options);
  }
}

/** The daemon's control service; `ready()` tells "no daemon there" apart from "the daemon refused". */
export async function remoteSource(opts: {
  endpoint: string;
  tls?: boolean;
  mpe: Address;
  privateKey: Uint8Array;
  head: () => Promise<bigint>;
}): Promise<
  TreasurySource & {
    ready(timeoutMs: number): Promise<boolean>;
    close(): void;
  }
> {
  // grpc-js is loaded only by `snetd claim`: every command's module is imported at start (cli/commands.ts).
  const grpc = await import("@grpc/grpc-js");
  const client = new grpc.Client(
    opts.endpoint,
    opts.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
  );
  const sign = (message: Uint8Array) => signDigest(opts.privateKey, personalDigest(message));

  function rpc<I extends DescMessage, O extends DescMessage>(
    method: string,
    input: I,
    output: O,
    request: MessageInitShape<I>,
  ): Promise<MessageShape<O>> {
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        `/escrow.ProviderControlService/${method}`,
        (r: MessageInitShape<I>) => Buffer.from(toBinary(input, create(input, r))),
        (b: Buffer) => fromBinary(output, b),
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + 30_000 },
        (err, reply) => {
          if (!err) return resolve(reply as MessageShape<O>);
          // After ready(): the daemon went away, or one of its own dependencies (chain, store) is down.
          if (err.code === grpc.status.UNAVAILABLE)
            reject(new DaemonUnreachableError(`the daemon at ${opts.endpoint} is unavailable: ${err.details}`));
          else reject(new Error(`${method} refused by the daemon: ${err.details} (code ${err.code})`));
        },
      );
    });
  }

  const list = async (method: "GetListUnclaimed" | "GetListInProgress") => {
    const block = await opts.head();
    const message =
      method === "GetListUnclaimed" ? listUnclaimedMessage(opts.mpe, block) : listInProgressMessage(opts.mpe, block);
    const reply = await rpc(method, GetPaymentsListRequestSchema, PaymentsListReplySchema, {
      mpeAddress: opts.mpe,
      currentBlock: block,
      signature: sign(message),
    });
    return reply.payments.map((p) => ({
      channelId: bytesToBigint(p.channelId),
      nonce: bytesToBigint(p.channelNonce),
      amount: bytesToBigint(p.signedAmount),
      signature: p.signature,
      expiration: bytesToBigint(p.channelExpiry),
    }));
  };

  return {
    inProgress: () => list("GetListInProgress"),
    async unclaimed() {
      return (await list("GetListUnclaimed")).map((p) => ({
        channelId: p.channelId,
        nonce: p.nonce,
        amount: p.amount,
        expiration: p.expiration,
        fullAmount: 0n,
        sender: "",
      }));
    },
    async startClaims(ids) {
      const block = await opts.head();
      const reply = await rpc(
        "StartClaimForMultipleChannels",
        StartMultipleClaimRequestSchema,
        PaymentsListReplySchema,
        {
          mpeAddress: opts.mpe,
          channelIds: ids,
          currentBlock: block,
          signature: sign(multiClaimMessage(opts.mpe, ids, block)),
        },
      );
      return reply.payments.map((p) => ({
        channelId: bytesToBigint(p.channelId),
        nonce: bytesToBigint(p.channelNonce),
        amount: bytesToBigint(p.signedAmount),
        signature: p.signature,
      }));
    },
    ready: (timeoutMs) => new Promise((resolve) => client.waitForReady(Date.now() + timeoutMs, (err) => resolve(!err))),
    close: () => client.close(),
  };
}
