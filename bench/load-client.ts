/**
 * The load generator for calls whose headers change on every call: escrow payments. Runs as its own
 * process (`bun bench/load-client.ts <spec.json>`) so it competes with the daemon for CPU the way h2load
 * does, not inside the process that hosts the example service.
 *
 * One channel per concurrent stream, because escrow admits one in-flight call per channel
 * (protocol/payments.md#escrow-invariants): each stream sends its channel's next cumulative amount after the
 * previous reply. Signatures arrive pre-computed in the spec (signing is the client's cost, not the
 * daemon's). Without payments the same loop drives plain calls, which calibrates this client against h2load.
 *
 * Protocol with the parent: stdout lines `window-start`, `window-end`, then one JSON `LoadResult` line.
 */

import { readFileSync } from "node:fs";
import http2 from "node:http2";
import { latencySummary } from "./stats.ts";

export interface StreamPayment {
  channelId: string;
  /** Cumulative amount already paid before the first signature below. */
  paidBefore: string;
  price: string;
  /** Base64 signatures of amounts paidBefore + price, paidBefore + 2 × price, … */
  signatures: string[];
}

export interface LoadSpec {
  /** host:port of the daemon or service. */
  target: string;
  path: string;
  bodyBase64: string;
  connections: number;
  streams: number;
  warmupS: number;
  durationS: number;
  /** One per stream, or absent for unpaid calls. */
  payments?: StreamPayment[];
}

export interface LoadResult {
  /** Successful calls that ended inside the timed window. */
  calls: number;
  callsPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Calls that ended in the window with a non-OK status or a transport failure. */
  errors: number;
  errorSamples: string[];
  /** Per stream: payments used (successful paid calls, warm-up included). */
  used: number[];
  /** Streams that ran out of pre-signed payments before the window ended. */
  exhausted: number;
}

interface Outcome {
  ok: boolean;
  detail: string;
}

function unary(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    let status: string | undefined;
    let message = "";
    const note = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] !== undefined) {
        status = String(h["grpc-status"]);
        message = decodeURIComponent(String(h["grpc-message"] ?? ""));
      }
    };
    let req: http2.ClientHttp2Stream;
    try {
      req = session.request(headers);
    } catch (err) {
      resolve({ ok: false, detail: `request failed: ${(err as Error).message}` });
      return;
    }
    req.on("response", note);
    req.on("trailers", note);
    req.on("data", () => {});
    let failure: string | undefined;
    req.on("error", (err) => (failure = err.message));
    req.on("close", () => {
      if (status === "0") resolve({ ok: true, detail: "" });
      else
        resolve({
          ok: false,
          detail:
            status === undefined
              ? `no grpc-status (${failure ?? `rst ${req.rstCode}`})`
              : `grpc-status ${status}: ${message}`,
        });
    });
    req.end(body);
  });
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const body = Buffer.from(spec.bodyBase64, "base64");
  const sessions = await Promise.all(
    Array.from({ length: spec.connections }, () => {
      const session = http2.connect(`http://${spec.target}`);
      session.on("error", () => {});
      return new Promise<http2.ClientHttp2Session>((resolve, reject) => {
        session.once("connect", () => resolve(session));
        session.once("error", reject);
      });
    }),
  );
  const base: http2.OutgoingHttpHeaders = {
    ":method": "POST",
    ":path": spec.path,
    "content-type": "application/grpc",
    te: "trailers",
  };
  const start = performance.now();
  const windowStart = start + spec.warmupS * 1000;
  const windowEnd = windowStart + spec.durationS * 1000;
  const samples = new Float64Array(1 << 20);
  let calls = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  const used = new Array<number>(spec.streams).fill(0);
  let exhausted = 0;

  // The parent samples the daemon's CPU on these lines, so they are printed on time, not after the calls.
  setTimeout(() => console.log("window-start"), windowStart - start);
  const ended = new Promise<void>((resolve) =>
    setTimeout(() => {
      console.log("window-end");
      resolve();
    }, windowEnd - start),
  );

  const stream = async (index: number) => {
    const session = sessions[index % sessions.length] as http2.ClientHttp2Session;
    const payment = spec.payments?.[index];
    const paidBefore = payment ? BigInt(payment.paidBefore) : 0n;
    const price = payment ? BigInt(payment.price) : 0n;
    const fixed: http2.OutgoingHttpHeaders = payment
      ? {
          ...base,
          "snet-payment-type": "escrow",
          "snet-payment-channel-id": payment.channelId,
          "snet-payment-channel-nonce": "0",
        }
      : base;
    for (;;) {
      const now = performance.now();
      if (now >= windowEnd) return;
      let headers = fixed;
      if (payment) {
        const k = used[index] as number;
        const signature = payment.signatures[k];
        if (signature === undefined) {
          exhausted++;
          return;
        }
        headers = {
          ...fixed,
          "snet-payment-channel-amount": (paidBefore + price * BigInt(k + 1)).toString(),
          "snet-payment-channel-signature-bin": signature,
        };
      }
      const outcome = await unary(session, headers, body);
      const end = performance.now();
      // A failed call is not charged: the same amount pays the next one (protocol/payments.md#escrow-settlement).
      if (outcome.ok) used[index] = (used[index] as number) + 1;
      if (end < windowStart || end > windowEnd) continue;
      if (outcome.ok) {
        if (calls < samples.length) samples[calls] = end - now;
        calls++;
      } else {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(outcome.detail);
      }
    }
  };
  await Promise.all([ended, ...Array.from({ length: spec.streams }, (_, i) => stream(i))]);
  for (const s of sessions) s.close();
  const { p50, p99 } = latencySummary(samples.subarray(0, Math.min(calls, samples.length)));
  return { calls, callsPerS: calls / spec.durationS, p50Ms: p50, p99Ms: p99, errors, errorSamples, used, exhausted };
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) throw new Error("Usage: bun bench/load-client.ts <spec.json>");
  const result = await run(JSON.parse(readFileSync(file, "utf8")) as LoadSpec);
  console.log(JSON.stringify(result));
  process.exit(0);
}

export interface LoadHooks {
  onWindowStart(): void;
  onWindowEnd(): void;
}

/** Runs the generator as a child process and calls the hooks when its timed window starts and ends. */
export async function runLoadClient(specFile: string, hooks: LoadHooks): Promise<LoadResult> {
  const proc = Bun.spawn({ cmd: [process.execPath, import.meta.path, specFile], stdout: "pipe", stderr: "pipe" });
  let result: LoadResult | undefined;
  let partial = "";
  const decoder = new TextDecoder();
  const reader = proc.stdout.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const lines = (partial + decoder.decode(value, { stream: true })).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "window-start") hooks.onWindowStart();
      else if (line === "window-end") hooks.onWindowEnd();
      else if (line.startsWith("{")) result = JSON.parse(line) as LoadResult;
    }
  }
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0 || !result)
    throw new Error(`The load client exited with code ${code} without a result: ${stderr.trim()}`);
  return result;
}
