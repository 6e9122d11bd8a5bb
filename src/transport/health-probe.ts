/**
 * Readiness from a real probe of the AI service (not a TCP connect, as the reference does): a gRPC health
 * Check over the shared upstream session. A service that answers UNIMPLEMENTED for health is reachable and
 * counts as serving; an unreachable one, or one reporting NOT_SERVING, does not. HTTP and JSON-RPC
 * services are probed with an HTTP request, process services by their executable.
 */
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import http2 from "node:http2";
import { connect } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { decodeFrames, encodeFrame } from "../core/grpc-frames.ts";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
} from "../gen/grpc/health/v1/health_pb.ts";
import type { Upstream } from "./upstream.ts";

export type ProbeResult = { serving: boolean; detail: string };

export async function probeUpstream(up: Upstream, timeoutMs = 2000): Promise<ProbeResult> {
  let session: http2.ClientHttp2Session;
  try {
    session = await up.session();
  } catch (err) {
    return { serving: false, detail: `unreachable: ${(err as Error).message}` };
  }
  return new Promise<ProbeResult>((resolve) => {
    const req = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": `${timeoutMs}m`,
    });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    const timer = setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), timeoutMs + 100);
    req.on("response", (h) => {
      if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
    });
    req.on("trailers", (t) => (status = String(t["grpc-status"])));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => {});
    req.on("close", () => {
      clearTimeout(timer);
      if (status === "12") return resolve({ serving: true, detail: "reachable (no health service)" });
      if (status !== "0")
        return resolve({
          serving: false,
          detail: status === undefined ? "no answer" : `health check failed with status ${status}`,
        });
      try {
        const frame = decodeFrames(Buffer.concat(chunks))[0];
        const reply = fromBinary(HealthCheckResponseSchema, frame?.payload ?? new Uint8Array());
        resolve({ serving: reply.status === Status.SERVING, detail: Status[reply.status] ?? String(reply.status) });
      } catch (err) {
        resolve({ serving: false, detail: `unreadable health reply: ${(err as Error).message}` });
      }
    });
    req.end(encodeFrame(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, {}))));
  });
}

/**
 * An HTTP or JSON-RPC service is up when its endpoint answers HTTP at all: its methods are POST routes,
 * so a 404 or 405 to a GET still means it is there.
 */
export async function probeHttp(url: string, timeoutMs = 2000): Promise<ProbeResult> {
  try {
    const res = await fetch(url, { method: "GET", signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel().catch(() => {});
    return { serving: true, detail: `reachable (HTTP ${res.status})` };
  } catch (err) {
    return { serving: false, detail: `unreachable: ${(err as Error).message}` };
  }
}

/**
 * `service_heartbeat_type: http|https`: the provider's own heartbeat URL, which must answer 2xx in time
 * (the reference waits forever and wants exactly 200).
 */
export async function probeHeartbeatUrl(url: string, timeoutMs = 2000): Promise<ProbeResult> {
  try {
    const res = await fetch(url, { method: "GET", signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel().catch(() => {});
    return res.ok
      ? { serving: true, detail: `heartbeat HTTP ${res.status}` }
      : { serving: false, detail: `heartbeat answered HTTP ${res.status}` };
  } catch (err) {
    return { serving: false, detail: `heartbeat unreachable: ${(err as Error).message}` };
  }
}

/** `service_heartbeat_type: tcp|none`: the service's port accepts a connection (port 80/443 by scheme when absent). */
export function probeTcp(endpoint: string, timeoutMs = 2000): Promise<ProbeResult> {
  const url = new URL(endpoint);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (r: ProbeResult) => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(timeoutMs, () =>
      done({ serving: false, detail: `no TCP connection to ${url.host} within ${timeoutMs} ms` }),
    );
    socket.once("connect", () => done({ serving: true, detail: `accepts TCP connections (${url.host})` }));
    socket.once("error", (err) => done({ serving: false, detail: `unreachable: ${err.message}` }));
  });
}

/** A process service is as available as its executable. */
export async function probeExecutable(file: string): Promise<ProbeResult> {
  try {
    await access(file, constants.X_OK);
    return { serving: true, detail: "executable" };
  } catch (err) {
    return { serving: false, detail: `cannot run ${file}: ${(err as Error).message}` };
  }
}

/** Caches the probe briefly so /heartbeat and health Check under load do not hammer the service. */
export function cachedProbe(probe: () => Promise<ProbeResult>, maxAgeMs = 1000): () => Promise<ProbeResult> {
  let last: { at: number; result: Promise<ProbeResult> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at > maxAgeMs) last = { at: now, result: probe() };
    return last.result;
  };
}
