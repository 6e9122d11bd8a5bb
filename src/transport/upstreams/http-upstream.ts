/**
 * `service_type: http` (protocol/upstreams.md#http-request): each gRPC call becomes `POST <service_endpoint>/
 * <method>` with the request message as JSON, and the JSON reply becomes the reply message. Connections
 * are kept alive and reused (fetch's pool), never one per call.
 *
 * @example
 *   const up = httpUpstream({ endpoint: "http://127.0.0.1:8000/api", protos, maxResponseBytes: 4 << 20 });
 *   const reply = await up.call({ path: "/calc.Calculator/add", message, timeoutMs: 5000, signal });
 */
import { posix } from "node:path";
import { Code, type SnetError } from "../../core/errors.ts";
import {
  badMethodFormat,
  CAUSE,
  endpointBadScheme,
  endpointNotUrl,
  httpExecError,
  httpReadError,
  httpResponseTooLarge,
  jsonToProtoError,
  methodAmbiguous,
  methodNotInProtos,
  protoToJsonError,
  upstreamHttpStatus,
} from "../../core/messages/upstreams.ts";
import type { CompiledProtos } from "../../metadata/protos/compile.ts";
import { methodFinder } from "../../metadata/protos/methods.ts";
import { applyCredentials, checkCredentials, type ServiceCredential } from "./credentials.ts";
import { stringifyGo } from "./go-json.ts";
import { jsonToProto, protoToJson } from "./proto-json.ts";
import { callSignal, causeText, readCapped, type UnaryUpstream } from "./unary.ts";

export interface HttpUpstreamOptions {
  /** `service_endpoint`; needs an explicit http:// or https:// scheme. */
  readonly endpoint: string;
  /** The service's compiled protos (metadata/protos/compile.ts). */
  readonly protos: CompiledProtos;
  /** `service_credentials`. */
  readonly credentials?: readonly ServiceCredential[];
  /** Largest reply body read (e.g. max_message_size_in_mb); more is RESOURCE_EXHAUSTED. */
  readonly maxResponseBytes: number;
  /** Opt-in: send the paying client's address in this request header (e.g. "X-Snet-User-Address"). */
  readonly userAddressHeader?: string;
}

/** Longest upstream error body quoted back to the client. */
const ERROR_BODY_BYTES = 4096;

/**
 * HTTP status → gRPC code. The reference answers UNAVAILABLE to every non-2xx; client errors get the
 * code that says what to fix instead, and the rest stays UNAVAILABLE.
 */
export function grpcCodeOfHttpStatus(status: number): Code {
  switch (status) {
    case 400:
    case 422:
      return Code.INVALID_ARGUMENT;
    case 401:
      return Code.UNAUTHENTICATED;
    case 403:
      return Code.PERMISSION_DENIED;
    case 404:
    case 405:
      return Code.UNIMPLEMENTED;
    case 413:
      return Code.RESOURCE_EXHAUSTED;
    default:
      return Code.UNAVAILABLE;
  }
}

/** Validates the options (start-up errors are thrown as Error with the reference's text) and returns the adapter. */
export function httpUpstream(opts: HttpUpstreamOptions): UnaryUpstream {
  const base = parseEndpoint(opts.endpoint);
  const credentials = opts.credentials ?? [];
  const bad = checkCredentials(credentials);
  if (bad) throw new Error(bad);
  const find = methodFinder(opts.protos);
  const registry = opts.protos.registry;
  const shutdown = new AbortController();

  return {
    async call(req) {
      const lookup = find(req.path);
      if (lookup.kind === "bad-path") throw badMethodFormat(lookup.trimmed, lookup.extraSegments);
      if (lookup.kind === "not-found") throw protoToJsonError(methodNotInProtos(lookup.name));
      if (lookup.kind === "ambiguous") {
        throw protoToJsonError(
          methodAmbiguous(
            lookup.name,
            lookup.candidates.map((m) => m.parent.typeName),
          ),
        );
      }
      const method = lookup.method;

      let body: ReturnType<typeof protoToJson>;
      try {
        body = protoToJson(method.input, req.message, registry);
      } catch (err) {
        throw protoToJsonError(causeText(err), err);
      }
      const url = new URL(base);
      // Go's path.Join: duplicate and trailing slashes removed.
      url.pathname = posix.join(base.pathname, method.name);
      const headers = new Headers();
      applyCredentials(credentials, { url, headers, body });
      if (opts.userAddressHeader && req.userAddress) headers.set(opts.userAddressHeader, req.userAddress);
      // Set last: a credential of the same name does not replace it (as in the reference).
      headers.set("Content-Type", "application/json");
      // Credentials in the query stay out of error texts.
      const shownUrl = `${url.origin}${url.pathname}`;

      const stop = callSignal(req, `HTTP service ${shownUrl}`, shutdown.signal);
      try {
        let response: Response;
        try {
          response = await fetch(url, { method: "POST", headers, body: stringifyGo(body), signal: stop.signal });
        } catch (err) {
          throw stop.reason() ?? httpExecError(shownUrl, causeText(err), err);
        }
        if (response.status < 200 || response.status > 299) {
          const text = await readErrorBody(response, stop.reason);
          throw upstreamHttpStatus(grpcCodeOfHttpStatus(response.status), response.status, text);
        }
        let raw: Uint8Array | "too-large";
        try {
          raw = await readCapped(response.body, opts.maxResponseBytes);
        } catch (err) {
          throw stop.reason() ?? httpReadError(causeText(err), err);
        }
        if (raw === "too-large") throw httpResponseTooLarge(opts.maxResponseBytes);
        try {
          return jsonToProto(method.output, new TextDecoder().decode(raw), registry);
        } catch (err) {
          throw jsonToProtoError(raw.length === 0 ? CAUSE.emptyBody : causeText(err), err);
        }
      } finally {
        stop.done();
      }
    },
    async close() {
      shutdown.abort();
    },
  };
}

function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(endpointNotUrl(endpoint, "an HTTP service"));
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(endpointBadScheme(endpoint, url.protocol.slice(0, -1), "an HTTP service"));
  }
  return url;
}

/** The first bytes of an error reply, for the client's message. */
async function readErrorBody(response: Response, reason: () => SnetError | undefined): Promise<string> {
  try {
    const reader = response.body?.getReader();
    if (!reader) return "";
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total <= ERROR_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      total += value.length;
    }
    await reader.cancel().catch(() => {});
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const p of parts) {
      bytes.set(p, offset);
      offset += p.length;
    }
    const text = new TextDecoder().decode(bytes.subarray(0, ERROR_BODY_BYTES));
    return total > ERROR_BODY_BYTES ? `${text}…` : text;
  } catch (err) {
    const stopped = reason();
    if (stopped) throw stopped;
    return CAUSE.bodyUnreadable(causeText(err));
  }
}
