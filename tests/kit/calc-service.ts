/**
 * The calculator of calculator.proto as real services of every upstream kind snetd sells: an HTTP/JSON
 * service (Bun.serve, the reference v6 HTTP mapping: POST <endpoint>/<method>, JSON in and out), a
 * JSON-RPC 2.0 service, and a gRPC service (grpc-js). Each counts the calls it served per method, so a
 * suite can tell "refused before the service ran" from "the service ran".
 *
 * @example
 * const http = startCalcHttpService();
 * const world = await startWorld({ serviceType: "http", protos: CALC_PROTOS });
 * const daemon = await startPaidDaemon(world, { service_endpoint: http.url });
 * const r = await calcRpc(daemon.daemon.endpoint, "add").call({ a: 2n, b: 3n }, calcMetadata(ch.pay(world.price)));
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create, type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { Server } from "bun";
import { compileProtos } from "../../src/metadata/protos/compile.ts";
import { daemonRpc } from "./daemon-client.ts";

/** The proto archive of the calculator: its service file and the pricing.proto it imports. */
export const CALC_PROTOS: Record<string, string> = {
  "calculator.proto": readFileSync(join(import.meta.dir, "calculator.proto"), "utf8"),
  "pricing.proto": readFileSync(join(import.meta.dir, "../../proto/pricing.proto"), "utf8"),
};

const registry = compileProtos(CALC_PROTOS).registry;
const message = (name: string) => registry.getMessage(name) as DescMessage;
export const Numbers = message("calc.Numbers");
export const Result = message("calc.Result");
export const PriceInCogs = message("pricing.PriceInCogs");

/** The price `estimate_mul` asks for a×b: |a × b| cogs. */
export const mulPrice = (a: bigint, b: bigint) => (a * b < 0n ? -(a * b) : a * b);

export const USER_ADDRESS_HEADER = "X-Snet-User-Address";
/** A `note` that makes `estimate_mul` fail. */
export const NO_QUOTE = "no quote";

export interface CalcRequest {
  a?: bigint;
  b?: bigint;
  note?: string;
}
export interface CalcResult {
  value: bigint;
  note: string;
}

/** A grpc-js client of one calculator method through `endpoint` (the daemon, or a service). */
export function calcRpc(endpoint: string, method: string) {
  const rpc = daemonRpc(endpoint, `/calc.Calculator/${method}`, Numbers, Result);
  return {
    async call(req: CalcRequest, md?: grpc.Metadata, deadlineMs?: number) {
      const r = await rpc.call(req as Parameters<typeof rpc.call>[0], md, deadlineMs);
      return { status: r.status, reply: r.reply as unknown as CalcResult | undefined };
    },
    close: () => rpc.close(),
  };
}

/** Payment metadata (as `Channel.pay` returns it) as grpc-js Metadata. */
export function calcMetadata(md: Record<string, string | Buffer>): grpc.Metadata {
  const out = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) out.set(k, v);
  return out;
}

export interface CalcService {
  /** http://127.0.0.1:port (HTTP and JSON-RPC) or 127.0.0.1:port (gRPC). */
  readonly url: string;
  /** Calls served, by method name. */
  readonly calls: Record<string, number>;
  served(method: string): number;
  /** gRPC only: the client address:port of every call, one per connection the daemon opened. */
  readonly peers: Set<string>;
  stop(): Promise<void>;
}

function counter() {
  const calls: Record<string, number> = {};
  return { calls, count: (m: string) => (calls[m] = (calls[m] ?? 0) + 1), served: (m: string) => calls[m] ?? 0 };
}

const int = (v: unknown) => BigInt((v as string | number | undefined) ?? 0);

/** The answer of a calculator method to numbers a, b (JSON values as the daemon sent them). */
function compute(
  method: string,
  a: bigint,
  b: bigint,
  note: string,
  payer: string | null,
): Record<string, string> | "fail" | "garbage" | undefined {
  switch (method) {
    case "add":
      return { value: String(a + b), note };
    case "mul":
      return { value: String(a * b), note };
    case "estimate_mul":
      // A service that cannot quote: the priced call must be refused before `mul` runs.
      return note === NO_QUOTE ? "fail" : { price: String(mulPrice(a, b)) };
    case "whoami":
      return { note: payer ?? "" };
    case "fail":
      return "fail";
    case "garbage":
      return "garbage";
  }
  return undefined;
}

/** The HTTP service: `POST /<method>` with the request message as JSON (int64 as strings), JSON reply. */
export function startCalcHttpService(): CalcService {
  const c = counter();
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const method = new URL(req.url).pathname.split("/").pop() ?? "";
      if (req.method !== "POST") return new Response("calculator: POST only", { status: 405 });
      const body = (await req.json()) as { a?: string; b?: string; note?: string };
      const answer = compute(method, int(body.a), int(body.b), body.note ?? "", req.headers.get(USER_ADDRESS_HEADER));
      if (answer === undefined) return new Response(`no method ${method}`, { status: 404 });
      c.count(method);
      if (answer === "fail") return new Response("the model crashed", { status: 500 });
      if (answer === "garbage") return new Response("this is not JSON", { status: 200 });
      return Response.json(answer);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    calls: c.calls,
    served: c.served,
    peers: new Set(),
    stop: () => server.stop(true),
  };
}

/** The JSON-RPC 2.0 service: `POST /` with {method, params: {a, b}}; `result` {value}, or an error object. */
export function startCalcJsonRpcService(): CalcService {
  const c = counter();
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (req.method !== "POST") return new Response("calculator: POST only", { status: 405 });
      const rpc = (await req.json()) as {
        method: string;
        params?: { a?: number; b?: number; note?: string };
        id: unknown;
      };
      const p = rpc.params ?? {};
      const answer = compute(rpc.method, int(p.a), int(p.b), p.note ?? "", req.headers.get(USER_ADDRESS_HEADER));
      if (answer === undefined)
        return Response.json({
          jsonrpc: "2.0",
          error: { code: -32601, message: `no method ${rpc.method}` },
          id: rpc.id,
        });
      c.count(rpc.method);
      if (answer === "fail")
        return Response.json({ jsonrpc: "2.0", error: { code: -32000, message: "the model crashed" }, id: rpc.id });
      if (answer === "garbage") return new Response("this is not JSON", { status: 200 });
      // JSON numbers, as a JSON-RPC service would answer.
      const result = Object.fromEntries(Object.entries(answer).map(([k, v]) => [k, /^-?\d+$/.test(v) ? Number(v) : v]));
      return Response.json({ jsonrpc: "2.0", result, id: rpc.id });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    calls: c.calls,
    served: c.served,
    peers: new Set(),
    stop: () => server.stop(true),
  };
}

/** The gRPC service (grpc-js): every method of calculator.proto; `fail` answers INTERNAL. */
export async function startCalcGrpcService(): Promise<CalcService> {
  const c = counter();
  const peers = new Set<string>();
  const server = new grpc.Server();
  const methods = ["add", "mul", "estimate_mul", "fail", "garbage", "whoami"];
  const bytes = (b: Buffer) => b;
  const definition = Object.fromEntries(
    methods.map((m) => [
      m,
      {
        path: `/calc.Calculator/${m}`,
        requestStream: false,
        responseStream: false,
        requestSerialize: bytes,
        requestDeserialize: bytes,
        responseSerialize: bytes,
        responseDeserialize: bytes,
      },
    ]),
  );
  const handler = (m: string) => (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
    const n = fromBinary(Numbers, call.request) as unknown as { a: bigint; b: bigint; note: string };
    const payer = call.metadata.get("snet-user-address")[0];
    peers.add(call.getPeer());
    const answer = compute(m, n.a, n.b, n.note, typeof payer === "string" ? payer : null);
    c.count(m);
    if (answer === "fail" || answer === undefined)
      return done({ code: grpc.status.INTERNAL, details: "the model crashed" });
    if (answer === "garbage") return done(null, Buffer.from([0xff, 0xff, 0xff]));
    if ("price" in answer)
      return done(
        null,
        Buffer.from(toBinary(PriceInCogs, create(PriceInCogs, { price: BigInt(answer.price as string) }))),
      );
    done(
      null,
      Buffer.from(toBinary(Result, create(Result, { value: BigInt(answer.value ?? "0"), note: answer.note ?? "" }))),
    );
  };
  server.addService(definition, Object.fromEntries(methods.map((m) => [m, handler(m)])));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    url: `127.0.0.1:${port}`,
    calls: c.calls,
    served: c.served,
    peers,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
