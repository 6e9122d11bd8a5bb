/**
 * Settings shared by the property-based and fuzz suites (issue 16): every property runs a bounded number
 * of times inside `npm test`, from a seed printed when it fails; `npm run fuzz -- --minutes N`
 * (scripts/fuzz.ts) runs the same properties with a fresh seed per round and many more runs.
 *
 * SNETD_FUZZ_SEED=<n> replays a failure; SNETD_FUZZ_SCALE=<k> multiplies every property's run count.
 *
 * @example
 * test("…", () => check(fc.property(fc.string(), (s) => { … }), 500));
 */
import { expect } from "bun:test";
import fc from "fast-check";
import { type Code, SnetError } from "../../src/core/errors.ts";

/** One seed per test process, so one environment variable replays a whole file. */
export const FUZZ_SEED = process.env.SNETD_FUZZ_SEED
  ? Number(process.env.SNETD_FUZZ_SEED)
  : Math.floor(Math.random() * 2 ** 31);
const SCALE = Number(process.env.SNETD_FUZZ_SCALE ?? "1");
/** A run that takes this long is a hang, not slowness: the property fails with its input. */
const RUN_TIMEOUT_MS = 10_000;

/** `runs` generated inputs (times SNETD_FUZZ_SCALE) from this process's seed; async runs bounded in time. */
export function fuzzParams<T>(runs: number): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(runs * SCALE)), timeout: RUN_TIMEOUT_MS };
}

/** fc.assert with this suite's parameters; on failure says how to replay it before rethrowing. */
export async function check<T>(property: fc.IProperty<T> | fc.IAsyncProperty<T>, runs: number): Promise<void> {
  try {
    await fc.assert(property as fc.IAsyncProperty<T>, fuzzParams<T>(runs));
  } catch (err) {
    console.error(`fuzz: replay with SNETD_FUZZ_SEED=${FUZZ_SEED} (the counterexample and its path are below)`);
    throw err;
  }
}

/**
 * Runs `f`; returns its value, or undefined when it threw a SnetError with `code` (and `reason`, for
 * MetadataError). Any other throw (a TypeError, a RangeError, a SnetError of another code) fails.
 */
export async function refusedWith<T>(code: Code, f: () => T | Promise<T>, reason?: string): Promise<T | undefined> {
  try {
    return await f();
  } catch (err) {
    if (!(err instanceof SnetError))
      throw new Error(`expected a SnetError with code ${code}, got ${String(err)}`, { cause: err });
    expect({ code: err.code, message: err.message }).toEqual({ code, message: expect.any(String) });
    if (reason !== undefined) expect((err as SnetError & { reason?: string }).reason).toBe(reason);
    // A clear message: sentence case, says something, no stack.
    expect(err.message.length).toBeGreaterThan(0);
    expect(err.message).not.toContain("    at ");
    return undefined;
  }
}

/** Text that tends to break parsers: unicode, control characters, huge and odd numbers, base64 look-alikes. */
export const nastyString = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 80 }),
    fc.string({ unit: "binary", maxLength: 80 }),
    fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }).map(String),
    fc.constantFrom(
      "",
      "0",
      "00",
      "-1",
      "+1",
      "0x10",
      "1e3",
      "1_000",
      " 1",
      "1 ",
      "NaN",
      "Infinity",
      "=",
      "==",
      "AAAA====",
      "\u0000",
      "%00",
      "\uFEFF1",
    ),
    fc.base64String({ maxLength: 120 }),
    fc.stringMatching(/^[0-9]{70,90}$/),
  );

/** Random bytes, biased to the lengths that matter (empty, 65-byte signatures, frame headers). */
export const nastyBytes = (): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.constantFrom(65, 64, 66, 5, 0).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
  );
