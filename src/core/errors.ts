/**
 * The one error base of snetd and its one code enum.
 *
 * `code` is a gRPC status code (plus the SingularityNET custom code 1000). Every failure the daemon or a
 * command reports is a `SnetError` or a subclass (configuration, store, metadata, managed etcd); the CLI
 * turns codes into exit codes (cli/exit-codes.ts), the transport into `grpc-status`. Messages a client
 * sees are built only by the catalogue in `core/messages/`, so each text exists once.
 */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
  /** SingularityNET custom code: the payment was signed for a nonce other than the daemon's. */
  INCORRECT_NONCE: 1000,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

export class SnetError extends Error {
  override readonly name: string = "SnetError";
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A refusal the client may retry after `retryAfterSeconds` (rate limits): sent as `retry-after` metadata. */
export class RetryLaterError extends SnetError {
  override readonly name = "RetryLaterError";
  constructor(
    code: Code,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(code, message);
  }
}

/** Any thrown value as a SnetError; unknown failures become INTERNAL with their text. */
export function toSnetError(err: unknown): SnetError {
  if (err instanceof SnetError) return err;
  const text = err instanceof Error ? err.message : String(err);
  return new SnetError(Code.INTERNAL, `internal error: ${text}`, { cause: err });
}

/** Why metadata could not be used; the reason lets start-up and tests tell the failures apart. */
export type MetadataErrorReason =
  | "bad-uri"
  | "bad-id"
  | "unsupported-cid"
  | "content-mismatch"
  | "unreachable"
  | "timeout"
  | "http-status"
  | "too-large"
  | "not-found"
  | "invalid-document"
  | "bad-archive"
  | "no-registry";

const UNREACHABLE: ReadonlySet<MetadataErrorReason> = new Set(["unreachable", "timeout", "http-status"]);

/** Metadata (Registry, IPFS, files) that is missing, unreachable or does not verify. */
export class MetadataError extends SnetError {
  override readonly name = "MetadataError";
  constructor(
    readonly reason: MetadataErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(UNREACHABLE.has(reason) ? Code.UNAVAILABLE : Code.FAILED_PRECONDITION, message, options);
  }
}
