/**
 * The dynamic price call against a real grpc-js provider (protocol/upstreams.md#price-call): a unary
 * handler (runs only after half-close — the reference hung on these), a streaming handler that answers
 * the first message, connection reuse, and every failure as UNAVAILABLE or INTERNAL, never a hang.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Code } from "../../src/core/errors.ts";
import { PriceInCogsSchema } from "../../src/gen/pricing_pb.ts";
import { type Upstream, upstream } from "../../src/transport/upstream.ts";
import { fetchDynamicPrice } from "../../src/transport/upstreams/dynamic-price.ts";
import { freePort } from "../kit/ports.ts";
import { refusal } from "../unit/refusal.ts";

const bytes = (b: Buffer) => b;
const method = (path: string, streaming: boolean): grpc.MethodDefinition<Buffer, Buffer> => ({
  path,
  requestStream: streaming,
  responseStream: streaming,
  requestSerialize: bytes,
  requestDeserialize: bytes,
  responseSerialize: bytes,
  responseDeserialize: bytes,
});
const priceBytes = (price: bigint) => Buffer.from(toBinary(PriceInCogsSchema, create(PriceInCogsSchema, { price })));

interface Seen {
  peer: string;
  request: Buffer;
  metadata: grpc.Metadata;
}
const seen: Seen[] = [];
let server: grpc.Server;
let up: Upstream;

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(
    {
      price: method("/calc.Calc/price", false),
      refuse: method("/calc.Calc/refuse", false),
      garbage: method("/calc.Calc/garbage", false),
      hang: method("/calc.Calc/hang", false),
      streamed: method("/calc.Calc/streamed", true),
    },
    {
      price: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
        seen.push({ peer: call.getPeer(), request: call.request, metadata: call.metadata });
        done(null, priceBytes(123456789012345678n));
      },
      refuse: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) =>
        done({ code: grpc.status.FAILED_PRECONDITION, details: "no quote for that" }),
      garbage: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) =>
        done(null, Buffer.from([0xff, 0xff, 0xff])),
      hang: () => {},
      // Answers the first message without waiting for the end of the client's stream (as grpc-go does).
      streamed: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.once("data", () => {
          call.write(priceBytes(7n));
          call.end();
        });
      },
    } as grpc.UntypedServiceImplementation,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  up = upstream({ url: `http://127.0.0.1:${port}`, maxMessageBytes: 4 * 1024 * 1024 });
});
afterAll(() => {
  up.close();
  server.forceShutdown();
});

const request = new Uint8Array([0x0a, 0x03, 0x61, 0x62, 0x63]);

test("a unary grpc-js price method answers after the half-close; the price is an exact uint64", async () => {
  const price = await fetchDynamicPrice(up, {
    pricePath: "/calc.Calc/price",
    message: request,
    headers: { "x-caller": "test", "grpc-accept-encoding": "gzip", "grpc-encoding": "gzip" },
  });
  expect(price).toBe(123456789012345678n);
  const last = seen.at(-1);
  expect(Buffer.from(last?.request ?? []).equals(Buffer.from(request))).toBe(true);
  expect(last?.metadata.get("x-caller")).toEqual(["test"]);
});

test("a streaming price method that answers the first message works too", async () => {
  expect(await fetchDynamicPrice(up, { pricePath: "/calc.Calc/streamed", message: request })).toBe(7n);
});

test("price calls share the upstream's one connection", async () => {
  const before = seen.length;
  for (let i = 0; i < 5; i++) await fetchDynamicPrice(up, { pricePath: "/calc.Calc/price", message: request });
  const peers = new Set(seen.slice(before).map((s) => s.peer));
  expect(seen.length - before).toBe(5);
  expect(peers.size).toBe(1);
});

test("a gRPC error from the price method is INTERNAL in the reference's format", async () => {
  const refused = await refusal(fetchDynamicPrice(up, { pricePath: "/calc.Calc/refuse", message: request }));
  expect([refused.code, refused.message]).toEqual([
    Code.INTERNAL,
    "internal error: rpc error: code = FailedPrecondition desc = no quote for that",
  ]);
  const missing = await refusal(fetchDynamicPrice(up, { pricePath: "/calc.Calc/nope", message: request }));
  expect(missing.code).toBe(Code.INTERNAL);
  expect(missing.message).toStartWith("internal error: rpc error: code = Unimplemented desc = ");
});

test("a reply that is not a PriceInCogs is INTERNAL proto error", async () => {
  const err = await refusal(fetchDynamicPrice(up, { pricePath: "/calc.Calc/garbage", message: request }));
  expect(err.code).toBe(Code.INTERNAL);
  expect(err.message).toStartWith("internal error: proto: ");
});

test("a price method that never answers is cut at the client's deadline: UNAVAILABLE", async () => {
  const err = await refusal(
    fetchDynamicPrice(up, { pricePath: "/calc.Calc/hang", message: request, clientTimeoutMs: 300 }),
  );
  expect([err.code, err.message]).toEqual([
    Code.UNAVAILABLE,
    'cannot get the price from the service: "/calc.Calc/hang" did not answer within 300 ms',
  ]);
});

test("the client's cancel stops the price call", async () => {
  const client = new AbortController();
  const pending = fetchDynamicPrice(up, { pricePath: "/calc.Calc/hang", message: request, signal: client.signal });
  setTimeout(() => client.abort(), 50);
  const err = await refusal(pending);
  expect(err.code).toBe(Code.CANCELLED);
});

test("a provider that is down is UNAVAILABLE, not a crash", async () => {
  const down = upstream({ url: `http://127.0.0.1:${await freePort()}`, maxMessageBytes: 1024, connectTimeoutMs: 2000 });
  const err = await refusal(fetchDynamicPrice(down, { pricePath: "/calc.Calc/price", message: request }));
  expect(err.code).toBe(Code.UNAVAILABLE);
  expect(err.message).toStartWith('cannot get the price from the service: "/calc.Calc/price" failed: ');
  down.close();
});
