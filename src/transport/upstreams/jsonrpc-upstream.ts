/**
 * `service_type: jsonrpc` (protocol/upstreams.md#json-rpc): the client sends JSON inside the gRPC frame
 * (metadata `encoding: json`); it becomes the `params` of a JSON-RPC 2.0 call to `service_endpoint`,
 * and the call's `result` becomes the reply frame. Unlike the reference, numbers keep every digit
 * (no float64 round trip); keys are sorted and HTML characters escaped as the reference does.
 */

import {
  CAUSE,
  endpointBadScheme,
  endpointNotUrl,
  jsonRpcBadRequest,
  jsonRpcError,
  jsonRpcExecError,
  jsonRpcNullResult,
  jsonRpcResponseTooLarge,
  upstreamHttpStatus,
} from "../../core/messages/upstreams.ts";
import { splitGrpcPath } from "../../metadata/protos/methods.ts";
import { isRawNumber, type LosslessJson, parseLossless, rawNumber, stringifyGo } from "./go-json.ts";
import { grpcCodeOfHttpStatus } from "./http-upstream.ts";
import { callSignal, causeText, readCapped, type UnaryUpstream } from "./unary.ts";

export interface JsonRpcUpstreamOptions {
  /** `service_endpoint`, called as is (no method path appended). */
  readonly endpoint: string;
  readonly maxResponseBytes: number;
  /** Opt-in: send the paying client's address in this request header (e.g. "X-Snet-User-Address"). */
  readonly userAddressHeader?: string;
}

export function jsonRpcUpstream(opts: JsonRpcUpstreamOptions): UnaryUpstream {
  let url: URL;
  try {
    url = new URL(opts.endpoint);
  } catch {
    throw new Error(endpointNotUrl(opts.endpoint, "a JSON-RPC service"));
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(endpointBadScheme(opts.endpoint, url.protocol.slice(0, -1), "a JSON-RPC service"));
  }
  const shown = `${url.origin}${url.pathname}`;
  const shutdown = new AbortController();
  return {
    async call(req) {
      // The reference takes the last path segment whatever the path looks like.
      const parts = splitGrpcPath(req.path);
      const method = parts.ok ? parts.method : (req.path.split("/").pop() ?? "");
      let params: LosslessJson;
      try {
        params = parseLossless(new TextDecoder("utf-8", { fatal: true }).decode(req.message));
      } catch (err) {
        throw jsonRpcBadRequest(causeText(err));
      }
      // gorilla/rpc json2's field order: jsonrpc, method, params, id (a struct, not a sorted map).
      const body = `{"jsonrpc":"2.0","method":${stringifyGo(method)},"params":${stringifyGo(params)},"id":${stringifyGo(rawNumber(randomId()))}}`;

      const stop = callSignal(req, `JSON-RPC service ${shown}`, shutdown.signal);
      try {
        let response: Response;
        try {
          const headers: Record<string, string> = { "Content-Type": "application/json" };
          if (opts.userAddressHeader && req.userAddress) headers[opts.userAddressHeader] = req.userAddress;
          response = await fetch(url, { method: "POST", headers, body, signal: stop.signal });
        } catch (err) {
          throw stop.reason() ?? jsonRpcExecError(causeText(err), err);
        }
        const raw = await readCapped(response.body, opts.maxResponseBytes).catch((err: unknown) => {
          throw stop.reason() ?? jsonRpcError(causeText(err));
        });
        if (response.status < 200 || response.status > 299) {
          const text = raw === "too-large" ? CAUSE.bodyOverLimit : new TextDecoder().decode(raw.subarray(0, 4096));
          // The reference answers UNAVAILABLE to any non-2xx; JSON-RPC servers report errors inside a 200.
          throw upstreamHttpStatus(grpcCodeOfHttpStatus(503), response.status, text);
        }
        if (raw === "too-large") throw jsonRpcResponseTooLarge(opts.maxResponseBytes);
        return new TextEncoder().encode(stringifyGo(resultOf(raw)));
      } finally {
        stop.done();
      }
    },
    async close() {
      shutdown.abort();
    },
  };
}

/** gorilla/rpc json2.DecodeClientResponse: an error object's message, else the result. */
function resultOf(raw: Uint8Array): LosslessJson {
  let reply: LosslessJson;
  try {
    reply = parseLossless(new TextDecoder().decode(raw));
  } catch (err) {
    throw jsonRpcError(causeText(err));
  }
  if (!isObject(reply)) throw jsonRpcError(CAUSE.notJsonObject);
  const { error, result } = reply;
  if (error !== undefined && error !== null) {
    // An error object yields its message (text, or "" when absent); anything else is quoted as JSON.
    const message = isObject(error) ? (error.message ?? "") : undefined;
    throw jsonRpcError(typeof message === "string" ? message : stringifyGo(error));
  }
  if (result === undefined || result === null) throw jsonRpcNullResult();
  return result;
}

function isObject(v: LosslessJson): v is { [key: string]: LosslessJson } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !isRawNumber(v);
}

/** A random id in 0…2^63−1, as gorilla's rand.Int63(). */
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0] = (bytes[0] as number) & 0x7f;
  return new DataView(bytes.buffer).getBigUint64(0).toString();
}
