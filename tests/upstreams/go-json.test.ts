/**
 * JSON text as the reference's Go encoding/json writes it (src/transport/upstreams/go-json.ts): what an
 * HTTP or JSON-RPC service receives byte for byte.
 */
import { expect, test } from "bun:test";
import { parseLossless, stringifyGo } from "../../src/transport/upstreams/go-json.ts";

test("keys sorted by code point, compact, HTML and line separators escaped", () => {
  const value = { "\u{1F600}": 1, "\uFFFD": 2, b: "<tag attr='x'>&\u2028\u2029", a: '\t\n\r\b\f\u0001"\\\u007f' };
  expect(stringifyGo(value)).toBe(
    '{"a":"\\t\\n\\r\\b\\f\\u0001\\"\\\\\u007f","b":"\\u003ctag attr=\'x\'\\u003e\\u0026\\u2028\\u2029","\uFFFD":2,"\u{1F600}":1}',
  );
});

test("numbers print as Go prints a float64, -0 included; lone surrogates become U+FFFD", () => {
  expect(stringifyGo([0.1, 1e21, 1e-7, 123456789, -0, 5n])).toBe("[0.1,1e+21,1e-7,123456789,-0,5]");
  expect(stringifyGo("a\ud800b")).toBe('"a\ufffdb"');
});

test("parsed numbers keep their source text", () => {
  const text = '{"z":[12345678901234567890,1.10,-0,1E400],"a":{"n":0.1}}';
  expect(stringifyGo(parseLossless(text))).toBe('{"a":{"n":0.1},"z":[12345678901234567890,1.10,-0,1E400]}');
});
