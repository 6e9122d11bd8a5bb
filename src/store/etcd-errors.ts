/**
 * How failures of the etcd client become store errors: one place that reads error classes and codes
 * (gRPC status via etcd3's typed errors, Node's errno codes), so the rest of the store never looks at
 * message text. Each mapping is pinned by tests/store/etcd-errors.test.ts.
 */
import { GRPCDeadlineExceededError, type IOptions } from "etcd3";
import { type CommitOutcome, StoreUnavailableError } from "./contract.ts";

/** Our own deadline fired (the gRPC deadline should have fired first). */
export const TIMED_OUT = new Error("no answer before the deadline");

/** Errno codes of a connection that was never established: no request went out. */
const NOT_CONNECTED = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * grpc-js fails a call on a channel that has no connection with status UNAVAILABLE and the fixed details
 * "No connection established"; the status code alone cannot tell it from a connection lost mid-request,
 * so this one documented grpc-js constant is the only text the store reads.
 */
const GRPC_JS_NO_CONNECTION = "No connection established";

const errnoOf = (err: unknown): string | undefined => {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string") return code;
  }
  return undefined;
};

/** True for failures where the request provably never reached a member, so any request may be resent. */
export function neverSent(err: unknown): boolean {
  const errno = errnoOf(err);
  if (errno !== undefined && NOT_CONNECTED.has(errno)) return true;
  return err instanceof Error && err.message.includes(GRPC_JS_NO_CONNECTION);
}

/** etcd3 (cockatiel) paused every endpoint after repeated failures. */
export const isBrokenCircuit = (err: unknown): boolean => (err as { isBrokenCircuitError?: boolean } | undefined)?.isBrokenCircuitError === true;

/** The request's deadline passed: gRPC DEADLINE_EXCEEDED (etcd3's typed error), or our own timer. */
export const isDeadline = (err: unknown): boolean => err === TIMED_OUT || err instanceof GRPCDeadlineExceededError;

/** The global policy type of etcd3's fault handling, taken from etcd3 so cockatiel stays its private dependency. */
type GlobalPolicy = NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>;

/**
 * Resends a request on the next endpoint only when it was never sent, at most twice per endpoint. etcd3's
 * default policy retries every recoverable error, including ambiguous commits and expired deadlines.
 */
export function failoverPolicy(endpoints: number): GlobalPolicy {
  const policy = {
    async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
      const signal = new AbortController().signal;
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn({ signal });
        } catch (err) {
          if (!neverSent(err) || attempt >= endpoints * 2) throw err;
        }
      }
    },
  };
  // etcd3 only calls `execute`; the event members of cockatiel's IPolicy are never read.
  return policy as unknown as GlobalPolicy;
}

/**
 * The store error for a failed request: what failed, where, and — for a commit that may have reached
 * etcd — outcome "unknown", which the payment layer settles before it answers the client.
 */
export function etcdFailure(where: string, what: string, timeoutMs: number, idempotent: boolean, err: unknown): StoreUnavailableError {
  const outcome: CommitOutcome = idempotent || neverSent(err) ? "not-applied" : "unknown";
  const unknown = outcome === "unknown";
  let message: string;
  if (isDeadline(err)) {
    message = `etcd at ${where} did not ${what} within ${timeoutMs} ms (no quorum or no member reachable${unknown ? "; the outcome is unknown" : ""})`;
  } else if (isBrokenCircuit(err)) {
    message = `etcd at ${where} could not ${what}: every endpoint failed repeatedly and is paused for a few seconds`;
  } else {
    message = `etcd at ${where} could not ${what}${unknown ? " (the outcome is unknown)" : ""}: ${err instanceof Error ? err.message : String(err)}`;
  }
  return new StoreUnavailableError(message, { cause: err, outcome });
}
