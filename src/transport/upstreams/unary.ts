/**
 * The one shape every non-gRPC upstream has (protocol/upstreams.md#adapter-selection): one request message in, one
 * reply message out, or a SnetError carrying the gRPC code for the client. Payment is settled by the
 * caller: the charge made before the call is kept when `call` resolves and given back when it rejects.
 */
import type { SnetError } from "../../core/errors.ts";
import { cancelled, deadlineExceeded, shuttingDown } from "../../core/messages/upstreams.ts";

export interface UnaryRequest {
  /** The gRPC path, e.g. "/example.Calculator/add". */
  readonly path: string;
  /** The first (only) request message, unframed, as the client encoded it. */
  readonly message: Uint8Array;
  /** Deadline for the whole call: the client's, else `service_timeout`. */
  readonly timeoutMs: number;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** The paying client (`snet-user-address`), for adapters configured to forward it. */
  readonly userAddress?: string;
}

export interface UnaryUpstream {
  /** The reply message, unframed; rejects with a SnetError. */
  call(req: UnaryRequest): Promise<Uint8Array>;
  /** Stops in-flight calls and releases connections. */
  close(): Promise<void>;
}

/** Timers hold at most 2^31-1 ms; longer deadlines are clamped (as src/transport/proxy.ts does). */
const MAX_TIMER_MS = 2_147_483_000;

/**
 * An AbortSignal that fires at the deadline or when the client goes away, and the error to report
 * for whichever came first. `done()` clears the timer.
 */
export function callSignal(req: UnaryRequest, what: string, extra?: AbortSignal) {
  const controller = new AbortController();
  let reason: SnetError | undefined;
  const stop = (err: SnetError) => {
    if (reason) return;
    reason = err;
    controller.abort(err);
  };
  const ms = Math.max(0, Math.min(req.timeoutMs, MAX_TIMER_MS));
  const timer = setTimeout(() => stop(deadlineExceeded(what, ms)), ms);
  const onClientAbort = () => stop(cancelled());
  const onExtra = () => stop(shuttingDown());
  if (req.signal.aborted) onClientAbort();
  else req.signal.addEventListener("abort", onClientAbort, { once: true });
  if (extra?.aborted) onExtra();
  else extra?.addEventListener("abort", onExtra, { once: true });
  return {
    signal: controller.signal,
    /** Why the signal fired, undefined while it has not. */
    reason: () => reason,
    done: () => {
      clearTimeout(timer);
      req.signal.removeEventListener("abort", onClientAbort);
      extra?.removeEventListener("abort", onExtra);
    },
  };
}

/**
 * Reads a fetch body up to `limit` bytes; "too-large" as soon as more arrive (the rest is cancelled,
 * so a runaway service cannot fill memory).
 */
export async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array | "too-large"> {
  if (!body) return new Uint8Array();
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      return "too-large";
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** The cause of a failed fetch or spawn as one line: Bun's error code when it has one, else the message. */
export function causeText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
