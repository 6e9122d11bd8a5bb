/**
 * Fixed-body load with h2load (Debian's nghttp2-client): the generator for every row whose request never
 * changes, so a C client, not a JS one, sets the pace.
 *
 * h2load knows HTTP statuses, not gRPC ones. A refused gRPC call is a 200 whose status rides in trailers
 * with no DATA, so gRPC-level failures are inferred from the DATA bytes received: every successful reply
 * of a row has the same size (measured by a single request first), failures carry none (gRPC-Web failures
 * carry only a short trailer frame, so they are undercounted by that fraction). This is exact only without
 * `--warm-up-time`: h2load then counts warm-up DATA bytes but not warm-up requests, so warm-up is a
 * separate run instead.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { latencySummary } from "./stats.ts";

export interface H2loadTarget {
  url: string;
  /** File holding the request body. */
  bodyFile: string;
  headers: Record<string, string>;
  /** Connections (-c) and streams per connection (-m); with `h1`, streams must be 1. */
  connections: number;
  streamsPerConnection: number;
  /** HTTP/1.1 instead of h2c (gRPC-Web as browsers without HTTP/2 send it). */
  h1?: boolean;
}

export interface H2loadResult {
  /** Requests completed within the duration (h2load "done"). */
  done: number;
  callsPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Transport failures, non-2xx statuses and gRPC failures inferred from DATA bytes. */
  errors: number;
  dataBytes: number;
}

function baseArgs(t: H2loadTarget): string[] {
  const args = ["-c", String(t.connections), "-m", String(t.streamsPerConnection), "-d", t.bodyFile];
  for (const [k, v] of Object.entries(t.headers)) args.push("-H", `${k}: ${v}`);
  if (t.h1) args.push("--h1");
  return args;
}

// h2load takes whole units only ("0.5" is refused); milliseconds keep fractional settings exact.
const duration = (seconds: number) => `${Math.round(seconds * 1000)}ms`;

async function h2load(args: string[]): Promise<string> {
  const proc = Bun.spawn({ cmd: ["h2load", ...args], stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`h2load ${args.join(" ")} exited with code ${code}: ${err.trim() || out.trim()}`);
  return out;
}

function counters(out: string) {
  const requests =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      out,
    );
  const statuses = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const traffic = /traffic: .*?, ([\d.]+\w*) \((\d+)\) data/.exec(out);
  if (!requests || !statuses || !traffic) throw new Error(`Cannot parse h2load output, got:\n${out}`);
  const n = (m: RegExpExecArray, i: number) => Number(m[i]);
  return {
    done: n(requests, 3),
    succeeded: n(requests, 4),
    transportErrors: n(requests, 5) + n(requests, 6) + n(requests, 7),
    non2xx: n(statuses, 2) + n(statuses, 3) + n(statuses, 4),
    dataBytes: n(traffic, 2),
  };
}

/** DATA bytes of one successful reply; 0 means the request fails (trailers only). */
export async function replyBytes(t: H2loadTarget): Promise<number> {
  const c = counters(await h2load(["-n", "1", ...baseArgs({ ...t, connections: 1, streamsPerConnection: 1 }), t.url]));
  if (c.succeeded !== 1 || c.non2xx !== 0)
    throw new Error(`A single request to '${t.url}' did not succeed with HTTP 2xx`);
  return c.dataBytes;
}

/** Keeps connections busy for `seconds`, discarding the figures (warm-up for JIT, pools, caches). */
export async function warmUp(t: H2loadTarget, seconds: number): Promise<void> {
  if (seconds > 0) await h2load(["-D", duration(seconds), ...baseArgs(t), t.url]);
}

/** One timed run of `seconds`; `reply` is the size from `replyBytes`. */
export async function measure(t: H2loadTarget, seconds: number, reply: number): Promise<H2loadResult> {
  const dir = mkdtempSync(join(tmpdir(), "snetd-bench-h2load-"));
  try {
    const log = join(dir, "requests.tsv");
    const c = counters(await h2load(["-D", duration(seconds), "--log-file", log, ...baseArgs(t), t.url]));
    // Columns: start time (µs since epoch), HTTP status, µs until the end of the response.
    const lines = readFileSync(log, "utf8").split("\n");
    const samples = new Float64Array(lines.length);
    let n = 0;
    for (const line of lines) {
      const tab = line.lastIndexOf("\t");
      if (tab > 0) samples[n++] = Number(line.slice(tab + 1)) / 1000;
    }
    const { p50, p99 } = latencySummary(samples.subarray(0, n));
    const repliedOk = reply > 0 ? Math.floor(c.dataBytes / reply) : 0;
    const grpcErrors = Math.max(0, c.succeeded - repliedOk);
    return {
      done: c.done,
      callsPerS: c.done / seconds,
      p50Ms: p50,
      p99Ms: p99,
      errors: c.transportErrors + c.non2xx + grpcErrors,
      dataBytes: c.dataBytes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
