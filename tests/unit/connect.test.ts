// The pure parts of Connect calls (docs/protocol/headers.md#connect): which requests are Connect calls,
// JSON bodies to messages, and the end of a gRPC call to a Connect response — codes and HTTP statuses,
// trailer- headers, error details, compressed and missing replies.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { SnetError } from "../../src/core/errors.ts";
import { encodeFrame } from "../../src/core/grpc-frames.ts";
import { compileProtos } from "../../src/metadata/protos/compile.ts";
import { isConnectUnary } from "../../src/transport/connect-call.ts";
import { connectCodec, jsonToBinary } from "../../src/transport/connect-codec.ts";
import { connectCode, connectReply } from "../../src/transport/connect-response.ts";

const protos = compileProtos({ "echo.proto": readFileSync(join(import.meta.dir, "../kit/echo.proto"), "utf8") });
const Req = protos.registry.getMessage("example.EchoRequest")!;
const Reply = protos.registry.getMessage("example.EchoReply")!;
const ECHO = "/example.Echo/Echo";
const json = { output: Reply, registry: protos.registry };
const replyBytes = toBinary(Reply, create(Reply, { text: "hi", count: 2 }));
const body = (r: { body: Uint8Array }) => JSON.parse(new TextDecoder().decode(r.body));

describe("which requests are Connect calls", () => {
  test("POST of JSON or proto to /service/method; plain HTTP endpoints and other shapes are not", () => {
    expect(isConnectUnary("POST", ECHO, "application/json")).toBe(true);
    expect(isConnectUnary("POST", `${ECHO}?x=1`, "application/json; charset=utf-8")).toBe(true);
    expect(isConnectUnary("POST", ECHO, "Application/Proto")).toBe(true);
    expect(isConnectUnary("GET", ECHO, "application/json")).toBe(false);
    expect(isConnectUnary("POST", ECHO, "application/grpc")).toBe(false);
    expect(isConnectUnary("POST", ECHO, "application/connect+json")).toBe(false);
    expect(isConnectUnary("POST", ECHO, undefined)).toBe(false);
    expect(isConnectUnary("POST", "/heartbeat/x", "application/json")).toBe(false);
    expect(isConnectUnary("POST", "/a/b/c", "application/json")).toBe(false);
    expect(isConnectUnary("POST", "/example.Echo", "application/json")).toBe(false);
  });
});

describe("JSON request bodies", () => {
  test("canonical proto3 JSON, an empty body is the empty message, the problem named otherwise", () => {
    expect(jsonToBinary(ECHO, Req, new TextEncoder().encode('{"text":"hi","payload":"AP8="}'), undefined)).toEqual(
      toBinary(Req, create(Req, { text: "hi", payload: Uint8Array.of(0, 255) })),
    );
    expect(jsonToBinary(ECHO, Req, new Uint8Array(0), undefined)).toEqual(new Uint8Array(0));
    const problem = (text: string | Uint8Array) => {
      try {
        jsonToBinary(ECHO, Req, typeof text === "string" ? new TextEncoder().encode(text) : text, undefined);
      } catch (err) {
        expect((err as SnetError).code).toBe(3);
        return (err as Error).message;
      }
      throw new Error("accepted");
    };
    expect(problem("null")).toBe(
      `invalid JSON request body for ${ECHO}: the body is null, expected a JSON object; expected the proto3 JSON of example.EchoRequest`,
    );
    expect(problem('"hi"')).toContain("the body is a string, expected a JSON object");
    expect(problem(Uint8Array.of(0x7b, 0xff, 0x7d))).toContain("the body is not UTF-8");
    expect(problem('{"payload":"!!"}')).toContain("example.EchoRequest.payload");
  });

  test("the codec knows exact paths of the protos and the daemon's own typed methods", () => {
    const codec = connectCodec({
      protos,
      own: [{ path: "/own.S/M", types: { input: Req, output: Reply, kind: "unary" } }],
    });
    expect(codec.types(ECHO)?.input.typeName).toBe("example.EchoRequest");
    expect(codec.types("/example.Echo/ServerStream")?.kind).toBe("server_streaming");
    expect(codec.types("/other.Echo/Echo")).toBeUndefined();
    expect(codec.types("/own.S/M")?.output.typeName).toBe("example.EchoReply");
    expect(codec.jsonUnavailable).toBeUndefined();
    expect(connectCodec({ jsonUnavailable: "no protos" }).jsonUnavailable).toBe("no protos");
  });
});

describe("a gRPC call's end as a Connect response", () => {
  test("every gRPC code has the Connect name and HTTP status of the Connect table; 1000 is unknown", () => {
    const table = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];
    expect(table.map((_, code) => connectCode(code).httpStatus)).toEqual(table);
    expect(connectCode(16).name).toBe("unauthenticated");
    expect(connectCode(1000)).toEqual({ name: "unknown", httpStatus: 500 });
  });

  test("status 0 and one message: 200 with JSON or the bytes; headers kept, trailers prefixed", () => {
    const outcome = {
      headers: { "content-type": "application/grpc", "grpc-encoding": "identity", "x-h": "1" },
      frames: encodeFrame(replyBytes),
      trailers: { "grpc-status": "0", "grpc-message": "", "x-t": ["a", "b"] },
    };
    const r = connectReply(outcome, { path: ECHO, maxMessageBytes: 1024, json });
    expect(r.status).toBe(200);
    expect(r.headers).toEqual({ "x-h": "1", "trailer-x-t": ["a", "b"], "content-type": "application/json" });
    expect(body(r)).toEqual({ text: "hi", count: 2 });
    const binary = connectReply(outcome, { path: ECHO, maxMessageBytes: 1024 });
    expect(binary.headers["content-type"]).toBe("application/proto");
    expect(binary.body).toEqual(replyBytes);
  });

  test("a gzip-compressed reply message is decompressed", () => {
    const outcome = {
      headers: { "grpc-encoding": "gzip" },
      frames: encodeFrame(gzipSync(replyBytes), 1),
      trailers: { "grpc-status": "0" },
    };
    expect(body(connectReply(outcome, { path: ECHO, maxMessageBytes: 1024, json }))).toEqual({ text: "hi", count: 2 });
  });

  test("zero or several messages, or bytes that are not the reply type, are errors", () => {
    const reply = (frames: Uint8Array, tooManyMessages = false) =>
      connectReply(
        { headers: {}, frames, trailers: { "grpc-status": "0" }, ...(tooManyMessages ? { tooManyMessages } : {}) },
        { path: ECHO, maxMessageBytes: 1024, json },
      );
    expect(body(reply(new Uint8Array(0)))).toEqual({
      code: "unimplemented",
      message: `the service sent 0 reply messages for ${ECHO}, a Connect unary call needs exactly one`,
    });
    expect(reply(Buffer.concat([encodeFrame(replyBytes), encodeFrame(replyBytes)])).status).toBe(501);
    expect(body(reply(new Uint8Array(0), true)).message).toContain("sent several reply messages");
    const garbage = reply(encodeFrame(Uint8Array.of(0xff, 0xff)));
    expect(garbage.status).toBe(500);
    expect(body(garbage).message).toStartWith(
      `cannot convert the service's reply to ${ECHO}: not a example.EchoReply (`,
    );
  });

  test("an error: code, decoded message, details from grpc-status-details-bin; trailers-only headers too", () => {
    // google.rpc.Status { code: 9, message: "m", details: [Any { type_url, value: 0x01 0x02 }] }
    const any = new BinaryWriter()
      .tag(1, 2)
      .string("type.googleapis.com/google.rpc.RetryInfo")
      .tag(2, 2)
      .bytes(Uint8Array.of(1, 2))
      .finish();
    const status = new BinaryWriter().tag(1, 0).int32(9).tag(2, 2).string("m").tag(3, 2).bytes(any).finish();
    const r = connectReply(
      {
        headers: {},
        frames: new Uint8Array(0),
        trailers: {
          "content-type": "application/grpc",
          "grpc-status": "9",
          "grpc-message": "not%20ready %E2%9C%93",
          "grpc-status-details-bin": Buffer.from(status).toString("base64").replace(/=+$/, ""),
          "x-why": "because",
        },
      },
      { path: ECHO, maxMessageBytes: 1024, json },
    );
    expect(r.status).toBe(400);
    expect(r.headers).toEqual({ "trailer-x-why": "because", "content-type": "application/json" });
    expect(body(r)).toEqual({
      code: "failed_precondition",
      message: "not ready ✓",
      details: [{ type: "google.rpc.RetryInfo", value: "AQI" }],
    });
  });
});
