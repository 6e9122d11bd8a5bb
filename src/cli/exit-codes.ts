/** Exit codes, documented in README "CLI": scripts and cron branch on them. */
import { Code, SnetError } from "../core/errors.ts";

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

const codeOfExit = (exit: number): Code =>
  exit === Exit.USAGE ? Code.INVALID_ARGUMENT : exit === Exit.UNREACHABLE ? Code.UNAVAILABLE : Code.UNKNOWN;

/** An error of a command's own usage, ending the CLI with a message, no stack trace and `exitCode`. */
export class CliError extends SnetError {
  override readonly name = "CliError";
  constructor(
    readonly exitCode: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(codeOfExit(exitCode), message, options);
  }
}

export const usageError = (message: string) => new CliError(Exit.USAGE, message);
export const unreachable = (message: string, cause?: unknown) => new CliError(Exit.UNREACHABLE, message, { cause });

/**
 * The exit code for an error that ends a command: configuration and usage problems 2, unreachable
 * dependencies 3, anything else 1.
 */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (!(err instanceof SnetError)) return Exit.FAILURE;
  if (err.code === Code.INVALID_ARGUMENT) return Exit.USAGE;
  if (err.code === Code.UNAVAILABLE) return Exit.UNREACHABLE;
  return Exit.FAILURE;
}
