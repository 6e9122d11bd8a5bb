/**
 * The example AI service end-to-end suites put behind snetd: a real grpc-js server on 127.0.0.1
 * serving `example.Echo` (tests/kit/echo.proto) and `grpc.health.v1.Health`, plus a client whose
 * helpers return headers, trailers and status so a test can check what crossed the proxy.
 *
 * @example
 * const service = await startEchoService();
 * const client = echoClient(daemon.endpoint); // or service.address, to bypass the daemon
 * const r = await call(client, "Echo", { text: "hi" }, { "snet-payment-type": "free-call" }, { deadlineMs: 5000 });
 * expect(r.status.code).toBe(grpc.status.OK);
 * expect(r.headers["echo-snet-user-address"]).toBe(payer);
 */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { freePort } from "./ports.ts";

export interface EchoRequest {
  payload?: Uint8Array;
  text?: string;
}
export interface EchoReply {
  payload: Buffer;
  text: string;
  count: number;
  metadata: Record<string, string>;
}
type EchoReplyInit = { payload?: Uint8Array; text?: string; count?: number; metadata?: Record<string, string> };
export interface StreamRequest {
  count?: number;
  payload?: Uint8Array;
}
export interface FailRequest {
  code?: number;
  message?: string;
  send_headers?: boolean;
}
export interface SlowRequest {
  millis?: number;
}
export interface BigRequest {
  size?: number;
}
export interface HealthCheckResponse {
  status: "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";
}

/** Trailers `Fail` attaches to every failure, so tests can check a proxy forwards error trailers. */
export const FAIL_TRAILERS = {
  "x-error-detail": "failure requested by the caller",
  "x-error-detail-bin": Buffer.from([0x00, 0x01, 0xfe, 0xff]),
} as const;

// Matches the daemon's default limit; `Big` tests messages well above grpc-js's 4 MiB default.
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const channelOptions: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
};
const loaderOptions: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true };
const echoDefinition = protoLoader.loadSync(join(import.meta.dir, "echo.proto"), loaderOptions);
const healthDefinition = protoLoader.loadSync(
  join(import.meta.dir, "../../proto/grpc/health/v1/health.proto"),
  loaderOptions,
);
const echoService = echoDefinition["example.Echo"] as grpc.ServiceDefinition;
const healthService = healthDefinition["grpc.health.v1.Health"] as grpc.ServiceDefinition;

/** Deterministic bytes (period 251, so it never lines up with power-of-two chunking). */
export function patternBytes(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  return bytes;
}

export interface EchoService {
  /** `127.0.0.1:PORT` */
  address: string;
  port: number;
  /** Calls to `example.Echo` methods received, of every kind (health checks excluded). */
  readonly calls: number;
  /** `Slow` calls that saw the client cancel or the deadline pass before replying. */
  readonly cancelled: number;
  /** Resolves once `cancelled >= atLeast`; rejects after `timeoutMs`. */
  waitCancelled(atLeast?: number, timeoutMs?: number): Promise<void>;
  setServing(serving: boolean): void;
  stop(): Promise<void>;
}

export async function startEchoService(opts: { port?: number } = {}): Promise<EchoService> {
  const port = opts.port ?? (await freePort());
  let calls = 0;
  let cancelled = 0;
  let serving = true;
  const cancelWaiters = new Set<{ atLeast: number; resolve: () => void }>();
  const healthWatchers = new Set<grpc.ServerWritableStream<unknown, HealthCheckResponse>>();
  const healthStatus = (): HealthCheckResponse => ({ status: serving ? "SERVING" : "NOT_SERVING" });

  const noteCancelled = () => {
    cancelled++;
    for (const waiter of cancelWaiters) if (cancelled >= waiter.atLeast) waiter.resolve();
  };
  const started = (call: { metadata: grpc.Metadata; sendMetadata(md: grpc.Metadata): void }, sendNow = true) => {
    calls++;
    const headers = responseHeaders(call.metadata);
    if (sendNow) call.sendMetadata(headers);
    return headers;
  };

  const server = new grpc.Server(channelOptions);
  server.addService(echoService, {
    Echo(call: grpc.ServerUnaryCall<Required<EchoRequest>, EchoReply>, done: grpc.sendUnaryData<unknown>) {
      started(call);
      const { payload, text } = call.request;
      done(null, { payload, text, count: 0, metadata: metadataRecord(call.metadata) }, serviceTrailers());
    },
    async ServerStream(call: grpc.ServerWritableStream<Required<StreamRequest>, EchoReplyInit>) {
      started(call);
      call.on("error", () => {}); // a cancelled client is an expected outcome, not a crash
      for (let i = 0; i < call.request.count && !call.cancelled; i++) {
        const more = call.write({ payload: call.request.payload, text: `reply ${i}`, count: i });
        if (!more) await new Promise((resolve) => call.once("drain", resolve));
      }
      call.end(serviceTrailers());
    },
    ClientStream(call: grpc.ServerReadableStream<Required<EchoRequest>, EchoReply>, done: grpc.sendUnaryData<unknown>) {
      started(call);
      const payloads: Buffer[] = [];
      const texts: string[] = [];
      call.on("data", (request: Required<EchoRequest>) => {
        payloads.push(Buffer.from(request.payload));
        texts.push(request.text);
      });
      call.on("error", () => {});
      call.on("end", () => {
        const reply = { payload: Buffer.concat(payloads), text: texts.join(""), count: texts.length };
        done(null, reply, serviceTrailers());
      });
    },
    Bidi(call: grpc.ServerDuplexStream<Required<EchoRequest>, EchoReplyInit>) {
      started(call);
      let index = 0;
      call.on("data", (request: Required<EchoRequest>) => {
        call.write({ payload: request.payload, text: request.text, count: index++ });
      });
      call.on("error", () => {});
      call.on("end", () => call.end(serviceTrailers()));
    },
    Fail(call: grpc.ServerUnaryCall<Required<FailRequest>, EchoReply>, done: grpc.sendUnaryData<unknown>) {
      const { code, message, send_headers } = call.request;
      started(call, send_headers);
      const trailers = new grpc.Metadata();
      for (const [key, value] of Object.entries(FAIL_TRAILERS)) trailers.set(key, value);
      if (!(code >= 1 && code <= 16)) {
        done({
          code: grpc.status.INVALID_ARGUMENT,
          details: `Fail code must be 1..16, got '${code}'`,
          metadata: trailers,
        });
        return;
      }
      done({ code, details: message, metadata: trailers });
    },
    Slow(call: grpc.ServerUnaryCall<Required<SlowRequest>, EchoReply>, done: grpc.sendUnaryData<unknown>) {
      const headers = started(call, false);
      const timer = setTimeout(() => {
        call.sendMetadata(headers);
        done(null, { text: `slept ${call.request.millis} ms` }, serviceTrailers());
      }, call.request.millis);
      call.on("cancelled", () => {
        clearTimeout(timer);
        noteCancelled();
      });
    },
    Big(call: grpc.ServerUnaryCall<Required<BigRequest>, EchoReply>, done: grpc.sendUnaryData<unknown>) {
      started(call);
      const size = call.request.size;
      if (!(size >= 0 && size <= MAX_MESSAGE_BYTES - 1024)) {
        done({
          code: grpc.status.INVALID_ARGUMENT,
          details: `Big size must be 0..${MAX_MESSAGE_BYTES - 1024}, got '${size}'`,
        });
        return;
      }
      done(null, { payload: patternBytes(size), count: size }, serviceTrailers());
    },
  });

  const knownService = (name: string) => name === "" || name === "example.Echo";
  server.addService(healthService, {
    Check(call: grpc.ServerUnaryCall<{ service: string }, HealthCheckResponse>, done: grpc.sendUnaryData<unknown>) {
      // Standard health protocol: an unknown service name is NOT_FOUND, not a status value.
      if (!knownService(call.request.service)) {
        done({ code: grpc.status.NOT_FOUND, details: `Unknown service '${call.request.service}'` });
        return;
      }
      done(null, healthStatus());
    },
    List(_call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) {
      done(null, { statuses: { "": healthStatus(), "example.Echo": healthStatus() } });
    },
    Watch(call: grpc.ServerWritableStream<{ service: string }, HealthCheckResponse>) {
      call.on("error", () => {});
      call.write(knownService(call.request.service) ? healthStatus() : { status: "SERVICE_UNKNOWN" });
      if (!knownService(call.request.service)) return;
      healthWatchers.add(call);
      call.on("cancelled", () => healthWatchers.delete(call));
    },
  });

  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) =>
      error ? reject(new Error(`Echo service could not listen on '127.0.0.1:${port}': ${error.message}`)) : resolve(),
    ),
  );

  return {
    address: `127.0.0.1:${port}`,
    port,
    get calls() {
      return calls;
    },
    get cancelled() {
      return cancelled;
    },
    waitCancelled(atLeast = 1, timeoutMs = 10_000) {
      if (cancelled >= atLeast) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          atLeast,
          resolve: () => {
            clearTimeout(timer);
            cancelWaiters.delete(waiter);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          cancelWaiters.delete(waiter);
          reject(
            new Error(
              `Echo service saw ${cancelled} cancellations within ${timeoutMs} ms, expected at least ${atLeast}`,
            ),
          );
        }, timeoutMs);
        cancelWaiters.add(waiter);
      });
    },
    setServing(value: boolean) {
      serving = value;
      for (const watcher of healthWatchers) watcher.write(healthStatus());
    },
    async stop() {
      server.forceShutdown();
    },
  };
}

// grpc-js strips the pseudo-headers; these are transport details, not metadata a caller sent.
const transportKeys = new Set(["content-type", "te", "accept-encoding"]);

/** Every request metadata entry back as `echo-<key>`, plus the service's own header. */
function responseHeaders(request: grpc.Metadata): grpc.Metadata {
  const headers = new grpc.Metadata();
  for (const [key, values] of entriesOf(request)) for (const value of values) headers.add(`echo-${key}`, value);
  headers.set("x-service-header", "yes");
  return headers;
}

function metadataRecord(request: grpc.Metadata): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, values] of entriesOf(request)) {
    record[key] = values.map((v) => (typeof v === "string" ? v : Buffer.from(v).toString("base64"))).join(", ");
  }
  return record;
}

function entriesOf(metadata: grpc.Metadata): Array<[string, grpc.MetadataValue[]]> {
  return Object.keys(metadata.getMap())
    .filter((key) => !key.startsWith("grpc-") && !transportKeys.has(key))
    .map((key) => [key, metadata.get(key)]);
}

function serviceTrailers(): grpc.Metadata {
  const trailers = new grpc.Metadata();
  trailers.set("x-service-trailer", "done");
  return trailers;
}

// ---------------------------------------------------------------------------------------------
// Client side

export type MetadataInit = grpc.Metadata | Record<string, string | Uint8Array | Array<string | Uint8Array>>;
export interface CallOptions {
  deadlineMs?: number;
}
export type MetadataMap = Record<string, grpc.MetadataValue>;
export interface CallResult<T> {
  /** Undefined unless the status is OK. */
  response: T | undefined;
  headers: MetadataMap;
  trailers: MetadataMap;
  status: { code: grpc.status; details: string };
}
export interface StreamResult<T> extends Omit<CallResult<T>, "response"> {
  responses: T[];
}

interface UnaryMethods {
  Echo: [EchoRequest, EchoReply];
  Fail: [FailRequest, EchoReply];
  Slow: [SlowRequest, EchoReply];
  Big: [BigRequest, EchoReply];
}

const EchoClient = grpc.makeGenericClientConstructor(echoService, "Echo");

/** A client for `example.Echo` at any address: the service itself, or a daemon proxying it. */
export function echoClient(
  address: string,
  opts: { credentials?: grpc.ChannelCredentials; options?: grpc.ChannelOptions } = {},
): grpc.Client {
  return new EchoClient(address, opts.credentials ?? grpc.credentials.createInsecure(), {
    ...channelOptions,
    ...opts.options,
  });
}

/** One unary call; never throws on a non-OK status, so failures can be inspected like successes. */
export function call<M extends keyof UnaryMethods>(
  client: grpc.Client,
  method: M,
  request: UnaryMethods[M][0],
  metadata?: MetadataInit,
  opts: CallOptions = {},
): Promise<CallResult<UnaryMethods[M][1]>> {
  return unary(client, definitionOf(echoService, method), request, metadata, opts);
}

/** `grpc.health.v1.Health/Check` on whatever `client` points at. */
export function healthCheck(
  client: grpc.Client,
  service = "",
  opts: CallOptions = {},
): Promise<CallResult<HealthCheckResponse>> {
  return unary(client, definitionOf(healthService, "Check"), { service }, undefined, opts);
}

export function serverStream(
  client: grpc.Client,
  request: StreamRequest,
  metadata?: MetadataInit,
  opts: CallOptions = {},
): Promise<StreamResult<EchoReply>> {
  const m = definitionOf(echoService, "ServerStream");
  const stream = client.makeServerStreamRequest(
    m.path,
    m.requestSerialize,
    m.responseDeserialize,
    request,
    toMetadata(metadata),
    callOptions(opts),
  );
  return collect<EchoReply>(stream);
}

export function clientStream(
  client: grpc.Client,
  requests: EchoRequest[],
  metadata?: MetadataInit,
  opts: CallOptions = {},
): Promise<CallResult<EchoReply>> {
  const m = definitionOf(echoService, "ClientStream");
  let response: EchoReply | undefined;
  const stream = client.makeClientStreamRequest(
    m.path,
    m.requestSerialize,
    m.responseDeserialize,
    toMetadata(metadata),
    callOptions(opts),
    (_error, value) => {
      response = value as EchoReply | undefined;
    },
  );
  for (const request of requests) stream.write(request);
  stream.end();
  return observe(stream, () => response);
}

export function bidi(
  client: grpc.Client,
  requests: EchoRequest[],
  metadata?: MetadataInit,
  opts: CallOptions = {},
): Promise<StreamResult<EchoReply>> {
  const m = definitionOf(echoService, "Bidi");
  const stream = client.makeBidiStreamRequest(
    m.path,
    m.requestSerialize,
    m.responseDeserialize,
    toMetadata(metadata),
    callOptions(opts),
  );
  for (const request of requests) stream.write(request);
  stream.end();
  return collect<EchoReply>(stream);
}

// Definitions from proto-loader are untyped at the message level; the interfaces above are the contract.
type MethodDefinition = grpc.MethodDefinition<unknown, unknown>;

function definitionOf(service: grpc.ServiceDefinition, name: string): MethodDefinition {
  const definition = service[name];
  if (!definition) throw new Error(`Method '${name}' is not in the service definition`);
  return definition as MethodDefinition;
}

function unary<T>(
  client: grpc.Client,
  m: MethodDefinition,
  request: unknown,
  metadata: MetadataInit | undefined,
  opts: CallOptions,
) {
  let response: T | undefined;
  const pending = client.makeUnaryRequest(
    m.path,
    m.requestSerialize,
    m.responseDeserialize,
    request,
    toMetadata(metadata),
    callOptions(opts),
    (_error, value) => {
      response = value as T | undefined;
    },
  );
  return observe(pending, () => response);
}

/** Waits for the final status; grpc-js reports a unary/client-stream reply before its status. */
function observe<T>(callEvents: NodeJS.EventEmitter, response: () => T | undefined): Promise<CallResult<T>> {
  return new Promise((resolve) => {
    let headers: MetadataMap = {};
    callEvents.on("metadata", (md: grpc.Metadata) => (headers = md.getMap()));
    callEvents.on("error", () => {}); // the status event carries the same information
    callEvents.on("status", (status: grpc.StatusObject) => {
      resolve({
        response: status.code === grpc.status.OK ? response() : undefined,
        headers,
        trailers: status.metadata.getMap(),
        status: { code: status.code, details: status.details },
      });
    });
  });
}

function collect<T>(
  stream: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
): Promise<StreamResult<T>> {
  const responses: T[] = [];
  stream.on("data", (message: T) => responses.push(message));
  // Status can arrive before the last buffered message is read; wait for both on success.
  const ended = new Promise<void>((resolve) => {
    stream.on("end", resolve);
    stream.on("error", () => resolve());
  });
  return observe<T>(stream, () => undefined).then(async ({ response: _, ...result }) => {
    if (result.status.code === grpc.status.OK) await ended;
    return { ...result, responses };
  });
}

function toMetadata(init: MetadataInit | undefined): grpc.Metadata {
  if (init instanceof grpc.Metadata) return init;
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(init ?? {})) {
    for (const v of Array.isArray(value) ? value : [value])
      metadata.add(key, typeof v === "string" ? v : Buffer.from(v));
  }
  return metadata;
}

function callOptions(opts: CallOptions): grpc.CallOptions {
  return opts.deadlineMs === undefined ? {} : { deadline: Date.now() + opts.deadlineMs };
}
