/**
 * A paid gRPC call answered by a non-gRPC service (http, jsonrpc, process; protocol/upstreams.md#adapter-selection):
 * the one request message is read, the adapter is called with the call's deadline and a signal that fires
 * when the client goes away, and its reply goes back as one message with status 0. The payment was
 * charged before the call (payments/escrow-gate.ts); it is kept when the adapter answered and given back
 * when it failed, before the reply or the error leaves, so a failing service is never charged. Native
 * gRPC and gRPC-Web callers alike: both are a ServerCall.
 */
import type { Admission } from "../core/admission.ts";
import { toSnetError } from "../core/errors.ts";
import { encodeFrame } from "../core/grpc-frames.ts";
import type { ServerCall } from "./call.ts";
import { callEnd } from "./call-end.ts";
import { type FirstMessage, readFirstMessage } from "./first-message.ts";
import type { UnaryUpstream } from "./upstreams/unary.ts";

export interface UnaryBridgeOptions {
  readonly maxMessageBytes: number;
  /** Deadline when the client set none (`service_timeout`). */
  readonly defaultTimeoutMs: number;
  /** Pass the payer's address (`snet-user-address` of the admission) to the adapter (opt-in). */
  readonly forwardUserAddress: boolean;
}

/** Timers hold at most 2^31-1 ms; as in proxy.ts. */
const MAX_TIMEOUT_MS = 2_147_483_000;

/** Serves `call` through `adapter`; `first` is the request message when it was read already (dynamic price). */
export async function unaryBridgeCall(
  call: ServerCall,
  adapter: UnaryUpstream,
  admission: Admission,
  opts: UnaryBridgeOptions,
  first?: FirstMessage,
): Promise<void> {
  const started = Date.now();
  const timeoutMs = Math.min(call.timeoutMs ?? opts.defaultTimeoutMs, MAX_TIMEOUT_MS);
  const cancel = new AbortController();
  call.onCancel(() => cancel.abort());
  const { settle, fail } = callEnd(call, admission);

  let reply: Uint8Array;
  try {
    const request = first ?? (await readFirstMessage(call, { maxMessageBytes: opts.maxMessageBytes, timeoutMs }));
    // One message in, one out (as the reference): whatever else the client streams is read and dropped.
    call.body.resume();
    const userAddress = opts.forwardUserAddress ? admission.setHeaders["snet-user-address"] : undefined;
    reply = await adapter.call({
      path: call.path,
      message: request.message,
      timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)),
      signal: cancel.signal,
      ...(userAddress ? { userAddress } : {}),
    });
  } catch (err) {
    call.body.resume();
    return fail(toSnetError(err));
  }
  if (call.finished) return void (await settle(false));
  await settle(true);
  const contentType =
    call.protocol === "grpc" ? (call.metadata.get("content-type")?.[0] ?? "application/grpc") : "application/grpc";
  call.sendHeaders({ "content-type": contentType });
  call.write(encodeFrame(reply));
  call.finish({ "grpc-status": "0" });
}
