import { MetadataError } from "../../src/core/errors.ts";

/**
 * How `p` fails, as `reason: message` of its MetadataError, so one `toBe` pins both; never throws, so a
 * wrong outcome ("no error", another error) shows in the assertion's diff.
 */
export async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof MetadataError ? `${err.reason}: ${err.message}` : `not a MetadataError: ${String(err)}`;
  }
  return "no error";
}
