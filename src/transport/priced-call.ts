/**
 * Dynamic pricing of one call (protocol/upstreams.md#dynamic-pricing): for a method the service prices itself, the
 * payment gate gets a `price` to ask once the payment headers parsed. Asking reads the first request
 * message (bounded in size and time) and calls the service's price method with it; a failure refuses the
 * call before the service runs. Free calls never ask, so their body is left untouched.
 */
import type { PaidRequest } from "../core/admission.ts";
import type { ServerCall } from "./call.ts";
import { type FirstMessage, readFirstMessage } from "./first-message.ts";
import { PRICE_TIMEOUT_MS, type PriceCall } from "./upstreams/dynamic-price.ts";

export interface PriceSource {
  /** Priced method path → its price method's path. */
  readonly priceMethods: ReadonlyMap<string, string>;
  /** Calls the price method: over the gRPC session, or through the service's own adapter. */
  fetch(call: PriceCall): Promise<bigint>;
}

export interface PricedCall {
  /** The call as the gate sees it, with its `price`. */
  readonly request: PaidRequest;
  /** The request message, once the price was asked (to replay or to hand to an adapter). */
  first(): FirstMessage | undefined;
}

/** Undefined when `call`'s method is not dynamically priced. */
export function pricedCall(
  call: ServerCall,
  source: PriceSource | undefined,
  maxMessageBytes: number,
): PricedCall | undefined {
  const pricePath = source?.priceMethods.get(call.path);
  if (!source || pricePath === undefined) return undefined;
  let first: FirstMessage | undefined;
  const price = async () => {
    const started = Date.now();
    const cancel = new AbortController();
    call.onCancel(() => cancel.abort());
    const timeoutMs = Math.min(call.timeoutMs ?? PRICE_TIMEOUT_MS, PRICE_TIMEOUT_MS);
    first = await readFirstMessage(call, { maxMessageBytes, timeoutMs });
    const headers: Record<string, readonly string[]> = {};
    // As the reference, the client's metadata goes along; an identity the client claims does not.
    for (const [k, v] of call.metadata) if (k !== "snet-user-address") headers[k] = v;
    return source.fetch({
      pricePath,
      message: first.message,
      headers,
      ...(call.timeoutMs !== undefined
        ? { clientTimeoutMs: Math.max(1, call.timeoutMs - (Date.now() - started)) }
        : {}),
      signal: cancel.signal,
    });
  };
  return { request: { path: call.path, metadata: call.metadata, price }, first: () => first };
}
