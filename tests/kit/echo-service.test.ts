import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import {
  bidi,
  call,
  clientStream,
  type EchoService,
  echoClient,
  FAIL_TRAILERS,
  healthCheck,
  patternBytes,
  serverStream,
  startEchoService,
} from "./echo-service.ts";

describe("echo service, called directly", () => {
  let service: EchoService;
  let client: grpc.Client;

  beforeAll(async () => {
    service = await startEchoService();
    client = echoClient(service.address);
  });
  afterAll(async () => {
    client?.close();
    await service?.stop();
  });

  test("listens on a loopback address with the port it reports", () => {
    expect(service.address).toBe(`127.0.0.1:${service.port}`);
  });

  test("Echo returns bytes and text and echoes request metadata as headers", async () => {
    const before = service.calls;
    const r = await call(
      client,
      "Echo",
      { text: "hi", payload: Uint8Array.of(1, 2, 3) },
      { "snet-user-address": "0xAbC", "x-trace-bin": Uint8Array.of(9, 8) },
      { deadlineMs: 5000 },
    );
    expect(r.status.code).toBe(grpc.status.OK);
    expect(r.response?.text).toBe("hi");
    expect([...(r.response?.payload ?? [])]).toEqual([1, 2, 3]);
    expect(r.response?.metadata["snet-user-address"]).toBe("0xAbC");
    expect(r.headers["echo-snet-user-address"]).toBe("0xAbC");
    expect([...(r.headers["echo-x-trace-bin"] as Buffer)]).toEqual([9, 8]);
    expect(r.headers["x-service-header"]).toBe("yes");
    expect(r.trailers["x-service-trailer"]).toBe("done");
    expect(service.calls).toBe(before + 1);
  });

  test("ServerStream returns count replies carrying the payload", async () => {
    const r = await serverStream(client, { count: 5, payload: Uint8Array.of(7) });
    expect(r.status.code).toBe(grpc.status.OK);
    expect(r.responses.map((m) => m.count)).toEqual([0, 1, 2, 3, 4]);
    expect(r.responses.every((m) => m.payload.equals(Buffer.of(7)))).toBe(true);
    expect(r.headers["x-service-header"]).toBe("yes");
    expect(r.trailers["x-service-trailer"]).toBe("done");
  });

  test("ClientStream concatenates what it received", async () => {
    const r = await clientStream(client, [
      { text: "a", payload: Uint8Array.of(1) },
      { text: "b", payload: Uint8Array.of(2, 3) },
      { text: "c" },
    ]);
    expect(r.status.code).toBe(grpc.status.OK);
    expect(r.response?.count).toBe(3);
    expect(r.response?.text).toBe("abc");
    expect([...(r.response?.payload ?? [])]).toEqual([1, 2, 3]);
    expect(r.trailers["x-service-trailer"]).toBe("done");
  });

  test("Bidi echoes each message in order", async () => {
    const r = await bidi(client, [{ text: "one" }, { text: "two" }, { text: "three" }], { "x-k": "v" });
    expect(r.status.code).toBe(grpc.status.OK);
    expect(r.responses.map((m) => [m.count, m.text])).toEqual([
      [0, "one"],
      [1, "two"],
      [2, "three"],
    ]);
    expect(r.headers["echo-x-k"]).toBe("v");
  });

  test("Fail returns the requested status with text and binary trailers", async () => {
    const r = await call(client, "Fail", { code: grpc.status.RESOURCE_EXHAUSTED, message: "out of credits" });
    expect(r.status).toEqual({ code: grpc.status.RESOURCE_EXHAUSTED, details: "out of credits" });
    expect(r.response).toBeUndefined();
    expect(r.trailers["x-error-detail"]).toBe(FAIL_TRAILERS["x-error-detail"]);
    expect((r.trailers["x-error-detail-bin"] as Buffer).equals(FAIL_TRAILERS["x-error-detail-bin"])).toBe(true);
    expect(r.headers["x-service-header"]).toBeUndefined();
  });

  test("Fail can send headers before failing", async () => {
    const r = await call(client, "Fail", { code: grpc.status.PERMISSION_DENIED, message: "no", send_headers: true });
    expect(r.status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(r.headers["x-service-header"]).toBe("yes");
    expect(r.trailers["x-error-detail"]).toBe(FAIL_TRAILERS["x-error-detail"]);
  });

  test("Fail rejects a code outside 1..16", async () => {
    const r = await call(client, "Fail", { code: 0, message: "not an error" });
    expect(r.status.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  test("Big returns 8 MiB of the expected bytes, above grpc-js's 4 MiB default", async () => {
    const size = 8 * 1024 * 1024;
    const r = await call(client, "Big", { size });
    expect(r.status.code).toBe(grpc.status.OK);
    expect(r.response?.payload.length).toBe(size);
    expect(r.response?.payload.equals(patternBytes(size))).toBe(true);
  });

  test("Echo carries an 8 MiB request payload both ways", async () => {
    const payload = patternBytes(8 * 1024 * 1024);
    const r = await call(client, "Echo", { payload });
    expect(r.status.code).toBe(grpc.status.OK);
    expect(r.response?.payload.equals(payload)).toBe(true);
  });

  test("Slow replies when it has the time", async () => {
    const r = await call(client, "Slow", { millis: 10 }, undefined, { deadlineMs: 10_000 });
    expect(r.status.code).toBe(grpc.status.OK);
    expect(r.response?.text).toBe("slept 10 ms");
    expect(r.trailers["x-service-trailer"]).toBe("done");
  });

  test("Slow past its deadline is DEADLINE_EXCEEDED and the service sees the cancellation", async () => {
    const before = service.cancelled;
    const r = await call(client, "Slow", { millis: 30_000 }, undefined, { deadlineMs: 200 });
    expect(r.status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await service.waitCancelled(before + 1);
    expect(service.cancelled).toBe(before + 1);
  });

  test("health reports SERVING, then NOT_SERVING after setServing(false)", async () => {
    expect((await healthCheck(client)).response?.status).toBe("SERVING");
    expect((await healthCheck(client, "example.Echo")).response?.status).toBe("SERVING");
    service.setServing(false);
    try {
      expect((await healthCheck(client)).response?.status).toBe("NOT_SERVING");
    } finally {
      service.setServing(true);
    }
    expect((await healthCheck(client)).response?.status).toBe("SERVING");
  });

  test("health answers NOT_FOUND for a service it does not serve", async () => {
    const r = await healthCheck(client, "example.Other");
    expect(r.status.code).toBe(grpc.status.NOT_FOUND);
  });

  test("health checks do not count as service calls", async () => {
    const before = service.calls;
    await healthCheck(client);
    expect(service.calls).toBe(before);
  });
});

test("a stopped service refuses calls with UNAVAILABLE", async () => {
  const service = await startEchoService();
  const client = echoClient(service.address);
  try {
    expect((await call(client, "Echo", { text: "up" })).status.code).toBe(grpc.status.OK);
    await service.stop();
    const r = await call(client, "Echo", { text: "down" }, undefined, { deadlineMs: 5000 });
    expect(r.status.code).toBe(grpc.status.UNAVAILABLE);
  } finally {
    client.close();
    await service.stop();
  }
});
