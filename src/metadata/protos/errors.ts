/**
 * Failures while compiling a service's .proto files. The reference daemon aborts start-up with
 * `failed to compile proto files: <err>` (docs/protocol/upstreams.md); so do we, with the cause.
 */
import { MetadataError } from "../../core/errors.ts";

export const COMPILE_PREFIX = "failed to compile proto files: ";

export function protoError(detail: string, cause?: unknown): MetadataError {
  return new MetadataError(
    "invalid-document",
    `${COMPILE_PREFIX}${detail}`,
    cause === undefined ? undefined : { cause },
  );
}
