/**
 * What the paid end-to-end suites share: dist/snetd in front of a world's echo service, and the
 * stateless client's view of a channel (`GetChannelState` signed by the channel's client at the head,
 * protocol/services.md#channel-state), so a suite asserts what the daemon holds rather than what it remembers paying.
 *
 * @example
 * const world = await startWorld();
 * const paid = await startPaidDaemon(world, { token_secret_key: SECRET });
 * try {
 *   const ch = await world.openFundedChannel();
 *   await call(paid.echo, "Echo", { text: "hi" }, ch.pay(world.price));
 *   expect((await paid.state(ch)).amount).toBe(world.price);
 * } finally {
 *   await paid.stop();
 *   await world.stop();
 * }
 */
import { expect } from "bun:test";
import type * as grpc from "@grpc/grpc-js";
import type { Hex } from "viem";
import { bigintToMinimalBytes, bytesToBigint } from "../../src/core/numbers.ts";
import {
  type ChannelStateReply,
  ChannelStateReplySchema,
  ChannelStateRequestSchema,
} from "../../src/gen/state_service_pb.ts";
import { signChannelStateRequest } from "./client.ts";
import type { TestAccount } from "./contracts.ts";
import { type DaemonProcess, ensureBinary, startDaemon } from "./daemon.ts";
import { daemonRpc, type RpcChannel } from "./daemon-client.ts";
import { call, echoClient, type MetadataInit } from "./echo-service.ts";
import type { World } from "./world.ts";

/** A GetChannelState client for the daemon at `endpoint`; close it when done. */
export function stateRpc(endpoint: string, channel: RpcChannel = {}) {
  return daemonRpc(
    endpoint,
    "/escrow.PaymentChannelStateService/GetChannelState",
    ChannelStateRequestSchema,
    ChannelStateReplySchema,
    channel,
  );
}

export type StateRpc = ReturnType<typeof stateRpc>;

/** Anything with an id and the client that opened it: a world's `Channel`, or one opened by hand. */
export interface ChannelRef {
  id: bigint;
  client: TestAccount;
}

/** A GetChannelState request for `ch` at `block`, signed by `key` (the channel's client by default). */
export function stateRequest(world: World, ch: ChannelRef, block: bigint, key: Hex = ch.client.privateKey) {
  return {
    channelId: bigintToMinimalBytes(ch.id),
    signature: signChannelStateRequest(key, world.deployment.mpe, ch.id, block),
    currentBlock: block,
  };
}

/**
 * GetChannelState at the current head through `via` (a client, or an endpoint to open one for this
 * request only); expects OK and returns the reply.
 */
export async function channelStateReply(
  world: World,
  via: StateRpc | string,
  ch: ChannelRef,
): Promise<ChannelStateReply> {
  const rpc = typeof via === "string" ? stateRpc(via) : via;
  try {
    const r = await rpc.call(stateRequest(world, ch, await world.head()));
    expect(r.status).toEqual({ code: 0, details: "" });
    return r.reply!;
  } finally {
    if (typeof via === "string") rpc.close();
  }
}

export interface ChannelState {
  nonce: bigint;
  /** The signed amount at `nonce`: what the daemon has authorised so far. */
  amount: bigint;
  /** The client's signature of `amount`, empty when nothing is signed at `nonce` */
  signature: Uint8Array;
}

export const decodeState = (reply: ChannelStateReply): ChannelState => ({
  nonce: bytesToBigint(reply.currentNonce),
  amount: bytesToBigint(reply.currentSignedAmount),
  signature: reply.currentSignature,
});

/** `channelStateReply`, decoded to numbers: what a stateless client signs its next payment from. */
export async function channelState(world: World, via: StateRpc | string, ch: ChannelRef): Promise<ChannelState> {
  return decodeState(await channelStateReply(world, via, ch));
}

/** One Echo through a client of its own, for daemons that come and go (restarts, replicas). */
export async function echoOnce(endpoint: string, metadata: MetadataInit, text = "paid") {
  const client = echoClient(endpoint);
  try {
    return await call(client, "Echo", { text }, metadata);
  } finally {
    client.close();
  }
}

export interface PaidDaemon {
  daemon: DaemonProcess;
  /** An echo client through the daemon */
  echo: grpc.Client;
  stateRpc: StateRpc;
  /** `channelState` through this daemon */
  state(ch: ChannelRef): Promise<ChannelState>;
  /** Closes the clients and stops the daemon */
  stop(): Promise<void>;
}

/**
 * dist/snetd (built if stale) for `world` with `extra` config, and clients for it. The daemon reads the
 * head on every check (`block_cache_ms: 0`): anvil mines a block per transaction, many within the
 * kit's default cache, and the expiry and ±5 block checks must see the real head.
 */
export async function startPaidDaemon(world: World, extra: Record<string, unknown> = {}): Promise<PaidDaemon> {
  await ensureBinary();
  const daemon = await startDaemon({ config: world.daemonConfig({ block_cache_ms: 0, ...extra }), binary: true });
  const echo = echoClient(daemon.endpoint);
  const rpc = stateRpc(daemon.endpoint);
  return {
    daemon,
    echo,
    stateRpc: rpc,
    state: (ch) => channelState(world, rpc, ch),
    async stop() {
      echo.close();
      rpc.close();
      await daemon.stop();
    },
  };
}
