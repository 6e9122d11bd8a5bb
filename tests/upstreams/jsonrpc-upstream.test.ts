/**
 * The JSON-RPC adapter against a real JSON-RPC 2.0 server (protocol/upstreams.md#json-rpc): request shape,
 * lossless numbers both ways, and every reply case of the reference's table.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Code } from "../../src/core/errors.ts";
import { jsonRpcUpstream } from "../../src/transport/upstreams/jsonrpc-upstream.ts";
import type { UnaryUpstream } from "../../src/transport/upstreams/unary.ts";
import { refusal } from "../unit/refusal.ts";
import { type HttpService, startHttpService } from "./http-service.ts";

let service: HttpService;
let up: UnaryUpstream;
const text = (s: string) => new TextEncoder().encode(s);
const call = (json: string, path = "/example.Calc/add") =>
  up
    .call({ path, message: text(json), timeoutMs: 10_000, signal: new AbortController().signal })
    .then((r) => new TextDecoder().decode(r));

/** A JSON-RPC 2.0 server: echoes params back as the result, in its own source text. */
const echoResult = (id: string, params: string) => new Response(`{"jsonrpc":"2.0","result":${params},"id":${id}}`);

beforeAll(() => {
  service = startHttpService();
  up = jsonRpcUpstream({ endpoint: `${service.url}/rpc`, maxResponseBytes: 64 * 1024 });
});
afterAll(async () => {
  await up.close();
  await service.stop();
});

test("the request is a JSON-RPC 2.0 call to the endpoint itself, params keeping every digit", async () => {
  service.answer((req) => {
    const id = /"id":(\d+)}$/.exec(req.body)?.[1] ?? "0";
    return echoResult(id, '{"z":1,"sum":12345678901234567890}');
  });
  const reply = await call('{"b": 12345678901234567890, "a": [1.10, "<&>"]}');
  const seen = service.seen.at(-1);
  expect(seen?.path).toBe("/rpc");
  expect(seen?.headers.get("content-type")).toBe("application/json");
  expect(seen?.body).toMatch(
    /^\{"jsonrpc":"2\.0","method":"add","params":\{"a":\[1\.10,"\\u003c\\u0026\\u003e"\],"b":12345678901234567890\},"id":\d+\}$/,
  );
  const id = BigInt(/"id":(\d+)}$/.exec(seen?.body ?? "")?.[1] ?? "-1");
  expect(id >= 0n && id < 2n ** 63n).toBe(true);
  expect(reply).toBe('{"sum":12345678901234567890,"z":1}');
});

test("scalars and null are valid params", async () => {
  service.answer(() => echoResult("1", '"done"'));
  expect(await call("42")).toBe('"done"');
  expect(service.seen.at(-1)?.body).toContain('"params":42,');
  await call("null");
  expect(service.seen.at(-1)?.body).toContain('"params":null,');
});

test("the reply's error object, a non-object error and a null result are INTERNAL with the reference's texts", async () => {
  const cases: [string, string][] = [
    ['{"jsonrpc":"2.0","error":{"code":-32000,"message":"boom"},"id":1}', "json-rpc error; error: boom"],
    ['{"jsonrpc":"2.0","error":"flat","id":1}', 'json-rpc error; error: "flat"'],
    ['{"jsonrpc":"2.0","result":null,"id":1}', "json-rpc error; error: result is null"],
    ['{"jsonrpc":"2.0","id":1}', "json-rpc error; error: result is null"],
    ["[1]", "json-rpc error; error: the reply is not a JSON object"],
  ];
  for (const [body, message] of cases) {
    service.answer(() => new Response(body));
    const err = await refusal(call("{}"));
    expect([err.code, err.message]).toEqual([Code.INTERNAL, message]);
  }
  service.answer(() => new Response("not json"));
  const bad = await refusal(call("{}"));
  expect(bad.code).toBe(Code.INTERNAL);
  expect(bad.message).toStartWith("json-rpc error; error: ");
});

test("a request frame that is not JSON is refused before any call", async () => {
  const before = service.seen.length;
  const err = await refusal(call("{oops"));
  expect(err.code).toBe(Code.INTERNAL);
  expect(err.message).toStartWith("error unmarshaling request; error: ");
  expect(service.seen.length).toBe(before);
});

test("a non-2xx status is UNAVAILABLE with the body", async () => {
  service.answer(() => new Response("down for maintenance", { status: 502 }));
  const err = await refusal(call("{}"));
  expect([err.code, err.message]).toEqual([Code.UNAVAILABLE, "upstream http status 502: down for maintenance"]);
});
