/**
 * The HTTP adapter against a real HTTP service: the request JSON row by row (protocol/upstreams.md
 * §3.2, byte for byte against the reference's verified example), the reply JSON (§3.4), credentials
 * (§3.3), status mapping and failures (§3.5), limits, timeouts and connection reuse.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { anyPack, DurationSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "../../src/core/errors.ts";
import { compileProtos } from "../../src/metadata/protos/compile.ts";
import { fetchDynamicPriceVia } from "../../src/transport/upstreams/dynamic-price.ts";
import { httpUpstream } from "../../src/transport/upstreams/http-upstream.ts";
import type { UnaryUpstream } from "../../src/transport/upstreams/unary.ts";
import { freePort } from "../kit/ports.ts";
import { refusal } from "../unit/refusal.ts";
import { type HttpService, startHttpService } from "./http-service.ts";

const fixtures = join(import.meta.dir, "fixtures");
const protos = compileProtos({
  "kitchen.proto": readFileSync(join(fixtures, "kitchen.proto"), "utf8"),
  "kitchen/parts.proto": readFileSync(join(fixtures, "kitchen/parts.proto"), "utf8"),
});
const Everything = protos.registry.getMessage("kitchen.Everything") as DescMessage;
const Inner = protos.registry.getMessage("parts.Inner") as DescMessage;
const encode = (init: Record<string, unknown>) =>
  toBinary(Everything, create(Everything, init as MessageInitShape<DescMessage>));
const decode = (bytes: Uint8Array) => fromBinary(Everything, bytes) as unknown as Record<string, unknown>;

let service: HttpService;
let up: UnaryUpstream;
const call = (
  message: Uint8Array,
  extra: { path?: string; timeoutMs?: number; signal?: AbortSignal; via?: UnaryUpstream } = {},
) =>
  (extra.via ?? up).call({
    path: extra.path ?? "/kitchen.Kitchen/do_it",
    message,
    timeoutMs: extra.timeoutMs ?? 10_000,
    signal: extra.signal ?? new AbortController().signal,
  });

beforeAll(() => {
  service = startHttpService();
  up = httpUpstream({ endpoint: `${service.url}/api//v1/`, protos, maxResponseBytes: 64 * 1024 });
});
afterAll(async () => {
  await up.close();
  await service.stop();
});

describe("request", () => {
  test("the reference's verified example, byte for byte, POSTed to endpoint + /method", async () => {
    service.answer(() => Response.json({}));
    const message = encode({
      userName: "bob",
      aFirst: "a",
      big: 9007199254740993n,
      ubig: 18446744073709551615n,
      blob: new Uint8Array([0, 1, 2, 255]),
      color: 2,
      d: 1.5,
      flag: true,
      html: "<a&b>",
      inner: { note: "n" },
      m: { k: 3n },
      small: 5,
      tags: ["x", "y"],
      ts: { seconds: 1704164645n },
    });
    await call(message);
    const seen = service.seen.at(-1);
    expect(seen?.method).toBe("POST");
    expect(seen?.path).toBe("/api/v1/do_it");
    expect(seen?.headers.get("content-type")).toBe("application/json");
    expect(seen?.body).toBe(
      '{"a_first":"a","big":"9007199254740993","blob":"AAEC/w==","color":"GREEN","d":1.5,"flag":true,"html":"\\u003ca\\u0026b\\u003e","inner":{"note":"n"},"m":{"k":"3"},"small":5,"tags":["x","y"],"ts":"2024-01-02T03:04:05Z","ubig":"18446744073709551615","user_name":"bob"}',
    );
  });

  test("every other mapping row: 64-bit kinds, float32, specials, unknown enum, presence, maps, well-known types", async () => {
    service.answer(() => Response.json({}));
    const message = encode({
      s64: -5n,
      f64: 7n,
      sf64: -9007199254740993n,
      u32: 4294967295,
      f: 0.1,
      special: Number.POSITIVE_INFINITY,
      color: 7,
      dur: { seconds: 1n, nanos: 500_000_000 },
      w64: 5n,
      wstr: "s",
      st: { a: 1, b: [true, null, "x<"] },
      any: anyPack(Inner, create(Inner, { note: "n", ratio: 0.1 } as MessageInitShape<DescMessage>)),
      empty: {},
      opt: 0,
      choice: { case: "number", value: 0n },
      inners: [{ note: "a", ratio: 0.1 }, {}],
      byId: { 1: { count: 9007199254740993n } },
      floats: [0.1, -2.5],
      wfloat: 0.1,
      mask: { paths: ["user_name", "a_first"] },
      bigs: [1n, 2n],
    });
    await call(message);
    expect(service.seen.at(-1)?.body).toBe(
      '{"any":{"@type":"type.googleapis.com/parts.Inner","note":"n","ratio":0.1},"bigs":["1","2"],"by_id":{"1":{"count":"9007199254740993"}},"color":7,"dur":"1.500s","empty":{},"f":0.1,"f64":"7","floats":[0.1,-2.5],"inners":[{"note":"a","ratio":0.1},{}],"mask":"userName,aFirst","number":"0","opt":0,"s64":"-5","sf64":"-9007199254740993","special":"Infinity","st":{"a":1,"b":[true,null,"x\\u003c"]},"u32":4294967295,"w64":"5","wfloat":0.1,"wstr":"s"}',
    );
  });

  test("an Any holding a well-known type nests it under value; NaN prints as a string", async () => {
    const message = encode({
      any: anyPack(DurationSchema, create(DurationSchema, { seconds: 2n })),
      special: Number.NaN,
    });
    await call(message);
    expect(service.seen.at(-1)?.body).toBe(
      '{"any":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"2s"},"special":"NaN"}',
    );
  });

  test("an empty request sends {}", async () => {
    await call(new Uint8Array());
    expect(service.seen.at(-1)?.body).toBe("{}");
  });

  test("a service name the protos do not know still reaches the method by name, as in the reference", async () => {
    await call(encode({ small: 1 }), { path: "/anything.Else/do_it" });
    expect(service.seen.at(-1)?.path).toBe("/api/v1/do_it");
  });

  test("an unknown method, a malformed path or an undecodable request is INTERNAL and says why", async () => {
    const unknown = await refusal(call(new Uint8Array(), { path: "/kitchen.Kitchen/nope" }));
    expect([unknown.code, unknown.message]).toEqual([
      Code.INTERNAL,
      `protoToJson error: method "nope" is not defined in the service's proto files`,
    ]);
    const bad = await refusal(call(new Uint8Array(), { path: "/svc/m1/m2" }));
    expect([bad.code, bad.message]).toEqual([
      Code.INTERNAL,
      'unexpected grpc method format (extra segments): "svc/m1/m2"',
    ]);
    const garbage = await refusal(call(new Uint8Array([0xff, 0xff, 0xff])));
    expect(garbage.code).toBe(Code.INTERNAL);
    expect(garbage.message).toStartWith("protoToJson error: ");
    expect(garbage.message.length).toBeGreaterThan("protoToJson error: ".length);
  });
});

describe("reply", () => {
  test("proto names, lowerCamel and json_name are accepted; unknown fields dropped; 64-bit exact; enums by name or number", async () => {
    service.answer(
      () =>
        new Response(
          '{"userAlias":"j","aFirst":"c","big":9007199254740993,"ubig":"18446744073709551615","color":"GREEN","inner":{"note":"n","count":9007199254740995},"byId":{"3":{"note":"x"}},"ts":"2024-01-02T03:04:05Z","w64":9007199254740997,"bigs":[9007199254740999,"1"],"mystery":{"deep":[1,2]}}',
          { headers: { "content-type": "text/plain" } },
        ),
    );
    const reply = decode(await call(new Uint8Array()));
    expect(reply.userName).toBe("j");
    expect(reply.aFirst).toBe("c");
    expect(reply.big).toBe(9007199254740993n);
    expect(reply.ubig).toBe(18446744073709551615n);
    expect(reply.color).toBe(2);
    expect(reply.inner).toMatchObject({ note: "n", count: 9007199254740995n });
    expect((reply.byId as Record<number, { note: string }>)[3]?.note).toBe("x");
    expect((reply.ts as { seconds: bigint }).seconds).toBe(1704164645n);
    expect(reply.w64).toBe(9007199254740997n);
    expect(reply.bigs).toEqual([9007199254740999n, 1n]);

    service.answer(() => Response.json({ user_name: "p", color: 1, small: 3 }));
    const second = decode(await call(new Uint8Array()));
    expect([second.userName, second.color, second.small]).toEqual(["p", 1, 3]);
  });

  test("bad, empty or mistyped JSON from the service is a clear INTERNAL error", async () => {
    const prefix = "jsonToProto error: invalid proto, can't convert json to proto msg: ";
    for (const body of ["not json", "", '{"small":"abc"}', "[1,2]"]) {
      service.answer(() => new Response(body));
      const err = await refusal(call(new Uint8Array()));
      expect(err.code).toBe(Code.INTERNAL);
      expect(err.message).toStartWith(prefix);
      expect(err.message.length).toBeGreaterThan(prefix.length);
    }
  });

  test("a reply larger than the limit is RESOURCE_EXHAUSTED", async () => {
    service.answer(() => Response.json({ html: "x".repeat(100_000) }));
    const err = await refusal(call(new Uint8Array()));
    expect([err.code, err.message]).toEqual([
      Code.RESOURCE_EXHAUSTED,
      "error reading response from HTTP service: the response is larger than the 65536-byte limit",
    ]);
  });
});

describe("credentials", () => {
  test("header, query and body credentials; body values override fields; Content-Type stays JSON", async () => {
    const withCreds = httpUpstream({
      endpoint: `${service.url}/base?fixed=1`,
      protos,
      maxResponseBytes: 1024,
      credentials: [
        { key: "X-Api-Key", value: "k1", location: "header" },
        { key: "X-Num", value: 5, location: "header" },
        { key: "token", value: "t&1", location: "query" },
        { key: "user_name", value: "override", location: "body" },
        { key: "extra", value: 5, location: "body" },
        { key: "Content-Type", value: "text/evil", location: "header" },
      ],
    });
    service.answer(() => Response.json({}));
    await call(encode({ userName: "bob", small: 2 }), { via: withCreds });
    const seen = service.seen.at(-1);
    expect(seen?.path).toBe("/base/do_it");
    expect(seen?.headers.get("x-api-key")).toBe("k1");
    expect(seen?.headers.get("x-num")).toBe("5");
    expect(seen?.headers.get("content-type")).toBe("application/json");
    expect(seen?.query.get("token")).toBe("t&1");
    expect(seen?.query.get("fixed")).toBe("1");
    expect(seen?.body).toBe('{"extra":5,"small":2,"user_name":"override"}');
    await withCreds.close();
  });

  test("bad credentials refuse to start with the reference's texts", () => {
    const make = (credentials: { key: string; value: unknown; location: string }[]) => () =>
      httpUpstream({ endpoint: service.url, protos, maxResponseBytes: 1024, credentials });
    expect(make([{ key: "a", value: "b", location: "cookie" }])).toThrow(
      "invalid service_credentials: location should be body, header or query",
    );
    expect(make([{ key: "", value: "b", location: "header" }])).toThrow(
      "invalid service_credentials: key can't be empty",
    );
    expect(() => httpUpstream({ endpoint: "localhost:5000", protos, maxResponseBytes: 1 })).toThrow(
      "an HTTP service needs http:// or https://",
    );
  });
});

describe("failures", () => {
  test("HTTP statuses map to gRPC codes with the reference's text", async () => {
    const cases: [number, Code][] = [
      [400, Code.INVALID_ARGUMENT],
      [401, Code.UNAUTHENTICATED],
      [403, Code.PERMISSION_DENIED],
      [404, Code.UNIMPLEMENTED],
      [429, Code.UNAVAILABLE],
      [500, Code.UNAVAILABLE],
      [503, Code.UNAVAILABLE],
    ];
    for (const [status, code] of cases) {
      service.answer(() => new Response(`nope ${status}`, { status }));
      const err = await refusal(call(new Uint8Array()));
      expect([err.code, err.message]).toEqual([code, `upstream http status ${status}: nope ${status}`]);
    }
  });

  test("a service that is not listening is INTERNAL, naming the URL without the query", async () => {
    const port = await freePort();
    const down = httpUpstream({
      endpoint: `http://127.0.0.1:${port}/x`,
      protos,
      maxResponseBytes: 1024,
      credentials: [{ key: "secret", value: "s3", location: "query" }],
    });
    const err = await refusal(call(new Uint8Array(), { via: down }));
    expect(err.code).toBe(Code.INTERNAL);
    expect(err.message).toStartWith(`error executing HTTP service: Post "http://127.0.0.1:${port}/x/do_it": `);
    expect(err.message).not.toContain("s3");
  });

  test("the deadline and the client's cancel stop a hanging service", async () => {
    service.answer(async () => {
      await Bun.sleep(30_000);
      return Response.json({});
    });
    const late = await refusal(call(new Uint8Array(), { timeoutMs: 300 }));
    expect(late.code).toBe(Code.DEADLINE_EXCEEDED);
    const client = new AbortController();
    const arrived = service.nextRequest();
    const pending = call(new Uint8Array(), { signal: client.signal });
    await arrived;
    client.abort();
    const gone = await refusal(pending);
    expect([gone.code, gone.message]).toEqual([Code.CANCELLED, "cancelled by the client"]);
    service.answer(() => Response.json({}));
  });
});

test("calls reuse one kept-alive connection", async () => {
  const fresh = startHttpService();
  const keep = httpUpstream({ endpoint: fresh.url, protos, maxResponseBytes: 1024 });
  for (let i = 0; i < 5; i++) await call(encode({ small: i }), { via: keep });
  expect(fresh.seen).toHaveLength(5);
  expect(new Set(fresh.seen.map((s) => s.clientPort)).size).toBe(1);
  await keep.close();
  await fresh.stop();
});

test("a dynamically priced HTTP service answers its price method over HTTP like any other method", async () => {
  const priced = compileProtos({
    "calc.proto": `syntax = "proto3"; package calc; import "pricing.proto";
      message In { string text = 1; }
      service Calc {
        rpc work(In) returns (In) { option (pricing.my_method_option).estimatePriceMethod = "/calc.Calc/estimate"; }
        rpc estimate(In) returns (pricing.PriceInCogs);
      }`,
  });
  const In = priced.registry.getMessage("calc.In") as DescMessage;
  const viaHttp = httpUpstream({ endpoint: service.url, protos: priced, maxResponseBytes: 1024 });
  service.answer((req) => Response.json({ price: req.body === '{"text":"abc"}' ? "18446744073709551615" : "1" }));
  const message = toBinary(In, create(In, { text: "abc" } as MessageInitShape<DescMessage>));
  expect(await fetchDynamicPriceVia(viaHttp, { pricePath: "/calc.Calc/estimate", message })).toBe(
    18446744073709551615n,
  );
  expect(service.seen.at(-1)?.path).toBe("/estimate");
  await viaHttp.close();
});
