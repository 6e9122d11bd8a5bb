import { SnetError } from "../../src/core/errors.ts";

/** The SnetError `p` rejects with; anything else it throws is rethrown, and resolving is a failure. */
export async function refusal(p: Promise<unknown>): Promise<SnetError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SnetError) return err;
    throw err;
  }
  throw new Error("expected a refusal, the promise resolved");
}
