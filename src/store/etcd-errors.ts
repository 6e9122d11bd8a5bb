/**
 * How failures of etcd requests become store errors, decided by structure and codes, never by message
 * text: whether the request's stream was created on a connected HTTP/2 session (`sent`), the gRPC status
 * etcd answered (grpc-status), the HTTP/2 reset code, Node's errno, and whether our own deadline passed.
 * Each mapping is pinned by tests/store/etcd-errors.test.ts.
 */
import { Code } from "../core/errors.ts";
import { type CommitOutcome, StoreUnavailableError } from "./contract.ts";

/** gRPC status codes the classification reads: the gRPC spec's numbering, as core/errors.ts has it. */
export const GrpcStatus = Code;

const STATUS_NAMES = new Map<number, string>(Object.entries(GrpcStatus).map(([name, code]) => [code, name]));

/** The name of a gRPC status code, e.g. "UNAVAILABLE", or the number for a code gRPC does not define. */
export const statusName = (code: number): string => STATUS_NAMES.get(code) ?? String(code);

/**
 * Statuses with which etcd refuses a request before proposing it to raft (bad request, too many
 * operations, no space, no permission), so a commit answered with one of them did not apply. Every other
 * status of a sent commit (UNAVAILABLE "leader changed", "request timed out", UNKNOWN "context deadline
 * exceeded", INTERNAL, ...) may come after the proposal, so its outcome is unknown.
 */
const REFUSED_BEFORE_PROPOSAL: ReadonlySet<number> = new Set([
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.NOT_FOUND,
  GrpcStatus.ALREADY_EXISTS,
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.OUT_OF_RANGE,
  GrpcStatus.UNIMPLEMENTED,
  GrpcStatus.UNAUTHENTICATED,
]);

/** Statuses that say nothing about the request itself, so a read may ask again (another member, later). */
const TRANSIENT: ReadonlySet<number> = new Set([
  GrpcStatus.CANCELLED,
  GrpcStatus.UNKNOWN,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.ABORTED,
  GrpcStatus.INTERNAL,
  GrpcStatus.UNAVAILABLE,
]);

/** HTTP/2 REFUSED_STREAM: the server guarantees it did no processing of the stream (RFC 9113 §8.7). */
export const HTTP2_REFUSED_STREAM = 7;

/** The facts one failed request leaves behind; `sent` is the one that decides whether it may be resent. */
export interface EtcdFailureFacts {
  /** The endpoint the request went to (or tried to). */
  endpoint: string;
  /** False when the request provably never reached etcd: no connected session, or the stream was refused. */
  sent: boolean;
  /** gRPC status answered by etcd (grpc-status header or trailer), when there was an answer. */
  status?: number;
  /** Node's errno code of the socket failure (ECONNREFUSED, ECONNRESET, ...), when there was one. */
  errno?: string;
  /** HTTP/2 RST_STREAM code the stream ended with, when not 0. */
  rstCode?: number;
  /** Our own absolute deadline passed before the answer. */
  timedOut?: boolean;
}

/** A failed etcd request, with the facts that classify it (see EtcdFailureFacts). */
export class EtcdRequestError extends Error {
  override readonly name = "EtcdRequestError";
  readonly endpoint: string;
  readonly sent: boolean;
  readonly status: number | undefined;
  readonly errno: string | undefined;
  readonly rstCode: number | undefined;
  readonly timedOut: boolean;
  constructor(message: string, facts: EtcdFailureFacts, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.endpoint = facts.endpoint;
    this.sent = facts.sent;
    this.status = facts.status;
    this.errno = facts.errno;
    this.rstCode = facts.rstCode;
    this.timedOut = facts.timedOut ?? false;
  }
}

/** Node's errno code of an error or of one of its causes. */
export function errnoOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string" && /^E[A-Z0-9]+$/.test(code)) return code;
  }
  return undefined;
}

/** True when the request provably never reached etcd, so it may go to another endpoint, commit or not. */
export const neverSent = (err: unknown): boolean => err instanceof EtcdRequestError && !err.sent;

/** True when our own deadline passed: nothing may be retried any more. */
export const isDeadline = (err: unknown): boolean => err instanceof EtcdRequestError && err.timedOut;

/**
 * Whether a failed commit may have applied: "not-applied" when it was never sent or etcd refused it
 * before proposing it; "unknown" for every other failure after the stream was written (a lost answer).
 */
export function commitOutcome(err: unknown): CommitOutcome {
  if (!(err instanceof EtcdRequestError)) return "unknown";
  if (!err.sent) return "not-applied";
  if (!err.timedOut && err.status !== undefined && REFUSED_BEFORE_PROPOSAL.has(err.status)) return "not-applied";
  return "unknown";
}

/** Whether a read that failed with `err` may be asked again within its deadline. */
export function readRetriable(err: unknown): boolean {
  if (!(err instanceof EtcdRequestError) || err.timedOut) return false;
  if (!err.sent || err.status === undefined) return true;
  return TRANSIENT.has(err.status);
}

/**
 * Whether the member behind the endpoint looks unable to serve (unreachable, broken connection, no
 * leader, no answer in time), so later requests start at the next endpoint. A status about the request
 * itself (INVALID_ARGUMENT, NOT_FOUND, ...) does not.
 */
export function memberUnwell(err: unknown): boolean {
  if (!(err instanceof EtcdRequestError)) return false;
  return !err.sent || err.timedOut || err.status === undefined || err.status === GrpcStatus.UNAVAILABLE;
}

/**
 * The store error for a failed request: what failed, where, and — for a commit that may have reached
 * etcd — outcome "unknown", which the payment layer answers by giving the charge back under the slot.
 */
export function etcdFailure(
  where: string,
  what: string,
  timeoutMs: number,
  isCommit: boolean,
  err: unknown,
): StoreUnavailableError {
  if (err instanceof StoreUnavailableError) return err;
  const outcome: CommitOutcome = isCommit ? commitOutcome(err) : "not-applied";
  const unknown = outcome === "unknown";
  const message = isDeadline(err)
    ? `etcd at ${where} did not ${what} within ${timeoutMs} ms (no quorum or no member reachable${unknown ? "; the outcome is unknown" : ""})`
    : `etcd at ${where} could not ${what}${unknown ? " (the outcome is unknown)" : ""}: ${err instanceof Error ? err.message : String(err)}`;
  return new StoreUnavailableError(message, { cause: err, outcome });
}
