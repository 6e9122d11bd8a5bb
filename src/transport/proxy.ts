/**
 * Transparent passthrough of one call to the AI service: bytes in, bytes out, no protos needed, any
 * method and any streaming kind. Only headers are read (for payment); frames are watched for size.
 * Response headers and trailers reach the client (the reference drops headers).
 */
import http2 from "node:http2";
import type { Admission } from "../core/admission.ts";
import type { SnetError } from "../core/errors.ts";
import { formatGrpcTimeout, frameSizeWatcher } from "../core/grpc-frames.ts";
import {
  cancelledByClient,
  cannotConnect,
  clientMessageTooLarge,
  deadlineExceeded,
  noStatusFromService,
  serviceMessageTooLarge,
} from "../core/messages/service.ts";
import type { HeaderMap, ServerCall } from "./call.ts";
import { callEnd } from "./call-end.ts";
import type { Upstream } from "./upstream.ts";

export interface ProxyOptions {
  maxMessageBytes: number;
  /** Deadline towards the service when the client set none (`service_timeout`). */
  defaultTimeoutMs: number;
}

/**
 * Timers hold at most 2^31-1 ms (~24.8 days); a longer deadline would fire at once. Whole seconds below
 * that bound, so the forwarded grpc-timeout also fits the service's own timers (grpc-js has the same limit).
 */
const MAX_TIMEOUT_MS = 2_147_483_000;

const RESPONSE_HOP_HEADERS = new Set([
  ":status",
  "date",
  "connection",
  "transfer-encoding",
  "content-length",
  "keep-alive",
]);

function withoutPseudo(h: http2.IncomingHttpHeaders): HeaderMap {
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined && !RESPONSE_HOP_HEADERS.has(k) && !k.startsWith(":")) out[k] = v;
  return out;
}

export async function proxyCall(
  call: ServerCall,
  up: Upstream,
  admission: Admission,
  opts: ProxyOptions,
): Promise<void> {
  const { settle, fail } = callEnd(call, admission);

  let session: http2.ClientHttp2Session;
  try {
    session = await up.session();
  } catch (err) {
    return fail(cannotConnect(up.url.host, (err as Error).message));
  }
  if (call.finished) return void settle(false);

  const timeoutMs = Math.min(call.timeoutMs ?? opts.defaultTimeoutMs, MAX_TIMEOUT_MS);
  const headers: Record<string, string | string[]> = {
    ":method": "POST",
    ":path": call.path,
    ":scheme": up.url.protocol.slice(0, -1),
    ":authority": up.url.host,
    te: "trailers",
    "grpc-timeout": formatGrpcTimeout(timeoutMs),
  };
  for (const [k, v] of call.metadata) {
    if (k === "grpc-timeout" || admission.dropHeaders.includes(k)) continue;
    headers[k] = v.length === 1 ? (v[0] as string) : [...v];
  }
  headers["content-type"] =
    call.protocol === "grpc"
      ? ((headers["content-type"] as string | undefined) ?? "application/grpc")
      : "application/grpc";
  Object.assign(headers, admission.setHeaders);

  let req: http2.ClientHttp2Stream;
  try {
    req = session.request(headers, { endStream: false });
  } catch (err) {
    return fail(cannotConnect(up.url.host, (err as Error).message));
  }

  let trailers: HeaderMap | undefined;
  let localError: SnetError | undefined;
  const abort = (err: SnetError) => {
    if (!localError) localError = err;
    if (!req.destroyed) req.close(http2.constants.NGHTTP2_CANCEL);
  };
  const deadline = setTimeout(() => abort(deadlineExceeded()), timeoutMs);
  call.onCancel(() => abort(cancelledByClient()));

  // Client → service, with backpressure and the size limit.
  const inbound = frameSizeWatcher(opts.maxMessageBytes);
  call.body.on("data", (chunk: Buffer) => {
    // After a refusal the rest of the body is dropped, not parsed or written to a closed stream.
    if (localError) return;
    const tooBig = inbound(chunk);
    if (tooBig !== undefined) {
      abort(clientMessageTooLarge(tooBig, opts.maxMessageBytes));
      return;
    }
    if (!req.write(chunk)) {
      call.body.pause();
      req.once("drain", () => call.body.resume());
    }
  });
  call.body.on("end", () => {
    if (!req.destroyed) req.end();
  });
  call.body.on("error", () => abort(cancelledByClient()));

  // Service → client.
  const outbound = frameSizeWatcher(opts.maxMessageBytes);
  // The call ends when the service's stream has delivered everything ('end': every message read, the
  // status received), not at 'close' a turn later: the last message and the trailers leave together.
  let ended: () => void = () => {};
  const done = new Promise<void>((resolve) => (ended = resolve));
  // Deno's node:http2 client can emit a reply's first 'data' before its 'response' (denoland/deno#35947):
  // such chunks wait, so the service's headers still go out first.
  let early: Buffer[] | undefined = [];
  req.on("response", (h, flags) => {
    if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) trailers = withoutPseudo(h);
    else call.sendHeaders(withoutPseudo(h));
    const waiting = early ?? [];
    early = undefined;
    for (const chunk of waiting) onData(chunk);
  });
  const onData = (chunk: Buffer) => {
    if (early) return void early.push(chunk);
    if (localError) return;
    const tooBig = outbound(chunk);
    if (tooBig !== undefined) {
      abort(serviceMessageTooLarge(tooBig, opts.maxMessageBytes));
      return;
    }
    if (!call.write(chunk)) {
      req.pause();
      call.onDrain(() => req.resume());
    }
  };
  req.on("data", onData);
  req.on("trailers", (t) => {
    trailers = withoutPseudo(t);
  });
  req.on("error", () => {});
  req.on("end", ended);
  req.on("close", ended);

  await done;
  clearTimeout(deadline);

  if (localError) return fail(localError);
  const status = trailers?.["grpc-status"];
  if (!trailers || status === undefined) {
    return fail(noStatusFromService(req.rstCode));
  }
  await settle(status === "0");
  call.finish(trailers);
}
