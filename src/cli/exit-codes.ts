/** Exit codes, documented in README "CLI": scripts and cron branch on them. */
export const Exit = {
  OK: 0,
  /** Anything unexpected. */
  FAILURE: 1,
  /** Bad usage or bad configuration. */
  USAGE: 2,
  /** A dependency (chain, IPFS, store, service) is unreachable or refused us. */
  UNREACHABLE: 3,
} as const;
export type Exit = (typeof Exit)[keyof typeof Exit];

/** An error that ends the CLI with a message and no stack trace. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    readonly exitCode: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const usageError = (message: string) => new CliError(Exit.USAGE, message);
export const unreachable = (message: string, cause?: unknown) => new CliError(Exit.UNREACHABLE, message, { cause });
