/**
 * One error type for everything the daemon reports to a client or an operator.
 *
 * `code` is a gRPC status code (plus the SingularityNET custom code 1000); wire-visible messages follow
 * the catalogue in shared/spec/wire.md §9 exactly, because clients and operators grep them.
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
  override readonly name = "SnetError";
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Shorthands, so call sites read like the catalogue. */
export const invalidArgument = (m: string) => new SnetError(Code.INVALID_ARGUMENT, m);
export const unauthenticated = (m: string) => new SnetError(Code.UNAUTHENTICATED, m);
export const permissionDenied = (m: string) => new SnetError(Code.PERMISSION_DENIED, m);
export const notFound = (m: string) => new SnetError(Code.NOT_FOUND, m);
export const failedPrecondition = (m: string) => new SnetError(Code.FAILED_PRECONDITION, m);
export const internal = (m: string, cause?: unknown) => new SnetError(Code.INTERNAL, m, { cause });
export const unavailable = (m: string, cause?: unknown) => new SnetError(Code.UNAVAILABLE, m, { cause });

/** Any thrown value as a SnetError; unknown failures become INTERNAL with their text. */
export function toSnetError(err: unknown): SnetError {
  if (err instanceof SnetError) return err;
  const text = err instanceof Error ? err.message : String(err);
  return new SnetError(Code.INTERNAL, `internal error: ${text}`, { cause: err });
}
