/**
 * The rows of an HTTP/JSON service sold through snetd (service_type http): the calculator's `add` called
 * directly over HTTP/1.1 with its JSON body (h2load --h1, one connection per concurrent call, kept
 * alive), and the same method as a paid gRPC call through the "http" daemon, which turns it into that
 * JSON request. The ratio and the added p50 (c=1 rows) are what the daemon costs an HTTP service.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { encodeFrame } from "../src/core/grpc-frames.ts";
import { Numbers } from "../tests/kit/calc-service.ts";
import type { H2loadTarget } from "./h2load.ts";
import { clientRow, h2loadRow, type Row, type Timing } from "./rows.ts";
import type { Stack } from "./stack.ts";

export const HTTP_PATH = "/calc.Calculator/add";
const JSON_BODY = '{"a":"2","b":"3"}';
const JSON_REPLY = '{"value":"5","note":""}';

/** Checks the direct JSON call answers what the daemon would turn into a reply. */
async function probeHttp(url: string): Promise<void> {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON_BODY });
  const text = await r.text();
  if (r.status !== 200 || text !== JSON_REPLY) {
    throw new Error(`Probe POST ${url} answered HTTP ${r.status} '${text}', expected 200 '${JSON_REPLY}'`);
  }
}

/**
 * The direct row and the paid row at `streams` concurrent calls (" c=1" appended for one at a time);
 * `expectedRate` sizes the paid row's pre-signed payments.
 */
export async function httpRows(
  stack: Stack,
  t: Timing,
  o: { streams: number; connections: number; expectedRate(): number },
): Promise<Row[]> {
  const daemon = stack.daemons.http;
  const jsonFile = join(t.dir, "calc.json");
  writeFileSync(jsonFile, JSON_BODY);
  const url = `${stack.httpService.url}/add`;
  const suffix = o.streams === 1 ? " c=1" : "";
  // HTTP/1.1 has no multiplexing: one kept-alive connection per concurrent call.
  const direct: H2loadTarget = {
    url,
    bodyFile: jsonFile,
    headers: { "content-type": "application/json" },
    h1: true,
    connections: o.streams,
    streamsPerConnection: 1,
  };
  const body = encodeFrame(toBinary(Numbers, create(Numbers, { a: 2n, b: 3n })));
  return [
    await h2loadRow(stack, t, { name: `direct HTTP service${suffix}`, target: direct, probe: () => probeHttp(url) }),
    clientRow(stack, t, {
      name: `paid, HTTP service${suffix}`,
      path: HTTP_PATH,
      body,
      daemon,
      target: daemon.process.endpoint,
      streams: o.streams,
      connections: o.connections,
      paid: { expectedRate: o.expectedRate },
    }),
  ];
}

/** The row each HTTP row's ratio is taken against. */
export function httpDirectOf(name: string): string | undefined {
  if (!name.includes("HTTP service")) return undefined;
  return name.endsWith("c=1") ? "direct HTTP service c=1" : "direct HTTP service";
}
