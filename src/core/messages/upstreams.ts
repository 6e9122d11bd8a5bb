/**
 * Catalogue: the upstream adapters — HTTP, JSON-RPC, process, dynamic price (docs/protocol/upstreams.md). Texts
 * the reference daemon sends keep its wording, without its trailing "About error & possible fixes" URL.
 */
import { Code, SnetError } from "../errors.ts";

const err = (code: Code, message: string, cause?: unknown) =>
  new SnetError(code, message, cause === undefined ? undefined : { cause });

// ---- Shared by the HTTP and JSON-RPC adapters ----

/** Non-2xx reply; `body` is the (capped) response text. */
export const upstreamHttpStatus = (code: Code, status: number, body: string) =>
  err(code, `upstream http status ${status}: ${body}`);

// ---- http (§3.5) ----

/** A gRPC path that is not /package.Service/method. */
export const badMethodFormat = (trimmed: string, extraSegments: boolean) =>
  err(
    Code.INTERNAL,
    `unexpected grpc method format${extraSegments ? " (extra segments)" : ""}: ${JSON.stringify(trimmed)}`,
  );
/** The reference drops the cause ("protoToJson error: "); we keep it. */
export const protoToJsonError = (cause: string, raw?: unknown) =>
  err(Code.INTERNAL, `protoToJson error: ${cause}`, raw);
/** The called method is in none of the service's proto files. */
export const methodNotInProtos = (name: string) => `method "${name}" is not defined in the service's proto files`;
/** Several services define the method name and the path does not say which. */
export const methodAmbiguous = (name: string, services: readonly string[]) =>
  `method "${name}" is defined by several services (${services.join(", ")}); call it by its full path "/<package>.<Service>/${name}"`;
/** The HTTP service could not be reached or did not answer. */
export const httpExecError = (url: string, cause: string, raw?: unknown) =>
  err(Code.INTERNAL, `error executing HTTP service: Post ${JSON.stringify(url)}: ${cause}`, raw);
/** The HTTP service's response body could not be read. */
export const httpReadError = (cause: string, raw?: unknown) =>
  err(Code.INTERNAL, `error reading response from HTTP service: ${cause}`, raw);
/** The HTTP service's response is over the size limit. */
export const httpResponseTooLarge = (limit: number) =>
  err(
    Code.RESOURCE_EXHAUSTED,
    `error reading response from HTTP service: the response is larger than the ${limit}-byte limit`,
  );
/** The service's JSON does not fit the method's reply message. */
export const jsonToProtoError = (cause: string, raw?: unknown) =>
  err(Code.INTERNAL, `jsonToProto error: invalid proto, can't convert json to proto msg: ${cause}`, raw);
/** Start-up checks of service_credentials (the reference exits with these). */
export const credentialsBadLocation = () => "invalid service_credentials: location should be body, header or query";
/** A `service_credentials` entry without a key. */
export const credentialsEmptyKey = () => "invalid service_credentials: key can't be empty";

// ---- jsonrpc (§4) ----

/** A JSON-RPC call whose request frame is not JSON. */
export const jsonRpcBadRequest = (cause: string) => err(Code.INTERNAL, `error unmarshaling request; error: ${cause}`);
/** The JSON-RPC service could not be reached. */
export const jsonRpcExecError = (cause: string, raw?: unknown) =>
  err(Code.INTERNAL, `error executing http call; error: ${cause}`, raw);
/** The JSON-RPC service answered with an error object. */
export const jsonRpcError = (detail: string) => err(Code.INTERNAL, `json-rpc error; error: ${detail}`);
/** The JSON-RPC service answered without a result. */
export const jsonRpcNullResult = () => jsonRpcError("result is null");
/** The JSON-RPC response is over the size limit. */
export const jsonRpcResponseTooLarge = (limit: number) =>
  err(Code.RESOURCE_EXHAUSTED, `json-rpc error; error: the response is larger than the ${limit}-byte limit`);

// ---- process (§5) ----

/** As Go prints a process error: "exit status <n>" or "signal: killed". */
export const processExitStatus = (code: number) => `exit status ${code}`;
const SIGNAL_TEXT: Readonly<Record<string, string>> = {
  SIGKILL: "killed",
  SIGTERM: "terminated",
  SIGSEGV: "segmentation fault",
  SIGABRT: "aborted",
  SIGINT: "interrupt",
};
/** As Go prints a process killed by a signal. */
export const processSignalStatus = (signal: string | null) =>
  `signal: ${signal ? (SIGNAL_TEXT[signal] ?? signal) : "unknown"}`;
/** `status` from processExitStatus or processSignalStatus. */
export const processFailed = (status: string, output: string) =>
  err(Code.INTERNAL, `process failed: ${status}; output=${output}`);
/** The executable could not be started. */
export const processNotStarted = (path: string, cause: string, raw?: unknown) =>
  err(Code.INTERNAL, `process failed: cannot run ${JSON.stringify(path)}: ${cause}; output=`, raw);
/** The process wrote more than the limit; it was killed. */
export const processOutputTooLarge = (limit: number) =>
  err(
    Code.RESOURCE_EXHAUSTED,
    `process failed: its output is larger than the ${limit}-byte limit; the process was killed`,
  );

// ---- dynamic price (§8.3) ----

/** The price method answered with a gRPC error; `codeName` as grpc-go prints it (e.g. "Unimplemented"). */
export const priceRpcFailed = (codeName: string, message: string) =>
  err(Code.INTERNAL, `internal error: rpc error: code = ${codeName} desc = ${message}`);
/** The price method's reply is not a PriceInCogs message. */
export const priceUndecodable = (cause: string, raw?: unknown) =>
  err(Code.INTERNAL, `internal error: proto: ${cause}`, raw);
/** The price method ended without a reply message. */
export const priceNoReply = (path: string) =>
  err(Code.INTERNAL, `internal error: the price method "${path}" ended without a reply`);
/** The price method could not be reached: the call is refused before the service runs. */
export const priceUnavailable = (path: string, cause: string, raw?: unknown) =>
  err(Code.UNAVAILABLE, `cannot get the price from the service: "${path}" failed: ${cause}`, raw);
/** The price method did not answer in time: the call is refused before the service runs. */
export const priceTimeout = (path: string, ms: number) =>
  err(Code.UNAVAILABLE, `cannot get the price from the service: "${path}" did not answer within ${ms} ms`);

// ---- Any adapter ----

/** Causes quoted inside the messages above. */
export const CAUSE = {
  emptyBody: "the response body is empty",
  notJsonObject: "the reply is not a JSON object",
  bodyOverLimit: "(body larger than the limit)",
  bodyUnreadable: (cause: string) => `(body unreadable: ${cause})`,
  noStatus: "the service answered without a gRPC status",
  streamClosed: (rstCode: number | string) => `the stream closed without a status (code ${rstCode})`,
  compressed: "the reply is compressed, which was not asked for",
  replyTooLarge: (path: string, limit: number) => `the reply of "${path}" is larger than ${limit} bytes`,
} as const;

/** A call arriving while the daemon drains. */
export const shuttingDown = () => err(Code.UNAVAILABLE, "the daemon is shutting down");
/** Start-up: `service_endpoint` of an HTTP or JSON-RPC service. */
export const endpointNotUrl = (endpoint: string, kind: string) =>
  `service_endpoint "${endpoint}" is not a URL; ${kind} needs http://host:port or https://host:port`;
/** `service_endpoint` of an HTTP or JSON-RPC service with another scheme than http(s). */
export const endpointBadScheme = (endpoint: string, scheme: string, kind: string) =>
  `service_endpoint "${endpoint}" has scheme "${scheme}"; ${kind} needs http:// or https://`;

/** The upstream did not answer before the call's deadline. */
export const deadlineExceeded = (what: string, ms: number) =>
  err(Code.DEADLINE_EXCEEDED, `deadline exceeded: ${what} did not answer within ${ms} ms`);
/** The client went away (one text for every adapter and the proxy). */
export { cancelledByClient as cancelled } from "./service.ts";
