/**
 * Value checks of the keys whose value is a structure: `free_calls_per_address` (address → number of free
 * calls) and `service_credentials` (a list of key, value and location). Each problem names the entry it is
 * about; the shared vocabulary (`Check`, `ok`, `bad`) and the scalar checks they build on are values.ts.
 */
import {
  type Address,
  asAddress,
  asNonEmptyText,
  asOneOf,
  type Bad,
  bad,
  type Check,
  HIDDEN,
  isRecord,
  kindOf,
  ok,
} from "./values.ts";

export const asFreeCalls: Check<Record<Address, number>> = (value) => {
  if (!isRecord(value)) {
    return bad(`is ${kindOf(value)}`, 'an object of address → number of free calls, e.g. {"0xab…": 10}');
  }
  const out: Record<Address, number> = {};
  for (const [k, count] of Object.entries(value)) {
    const a = asAddress(k);
    if (!a.ok) return bad(a.reason, a.expected, [k], k);
    // The reference also reads "unlimited"/"infinity" as −1
    const n = count === "unlimited" || count === "infinity" ? -1 : count;
    if (typeof n !== "number" || !Number.isInteger(n) || n < -1) {
      return bad("is not a number of free calls", "an integer ≥ 0, or -1 for unlimited", [k], count);
    }
    out[a.value] = n; // keys lower-cased: usage is keyed by the 20-byte address (protocol/reference-differences.md#d13)
  }
  return ok(out);
};

export interface ServiceCredential {
  key: string;
  /** Any JSON value in the body; text, a number or a boolean in a header or the query string. */
  value: unknown;
  location: "query" | "header" | "body";
}
const asLocation = asOneOf(["query", "header", "body"]);
const scalar = (v: unknown) =>
  typeof v === "string" || typeof v === "number" || typeof v === "boolean" || typeof v === "bigint";

/**
 * `service_credentials` (the reference's semantics: key, value, location header | query | body). Every bad
 * entry is reported, not only the first. Values are never shown: they are API keys.
 */
export const asCredentials: Check<ServiceCredential[]> = (value) => {
  if (!Array.isArray(value)) return bad(`is ${kindOf(value)}`, 'a list of {"key", "value", "location"} objects');
  const out: ServiceCredential[] = [];
  const problems: Bad[] = [];
  for (const [i, raw] of value.entries()) {
    if (!isRecord(raw)) {
      problems.push(bad(`is ${kindOf(raw)}`, 'an object with "key", "value" and "location"', [i], HIDDEN));
      continue;
    }
    const item = Object.fromEntries(Object.entries(raw).map(([k, x]) => [k.toLowerCase(), x]));
    const before = problems.length;
    const k = asNonEmptyText(item.key);
    if (!k.ok)
      problems.push({
        ...k,
        reason: k.reason === "is empty" ? "is empty (key can't be empty)" : k.reason,
        at: [i, "key"],
        given: item.key ?? "",
      });
    const location = asLocation(item.location);
    if (!location.ok)
      problems.push({
        ...location,
        expected: "body, header or query",
        at: [i, "location"],
        given: item.location ?? "",
      });
    if (item.value === undefined || item.value === null) {
      problems.push({
        ...bad("is missing", "a value: any JSON for body, a string, number or boolean for header and query", [
          i,
          "value",
        ]),
        given: undefined,
      });
    } else if (location.ok && location.value !== "body" && !scalar(item.value)) {
      problems.push(
        bad(
          `is ${kindOf(item.value)}`,
          `a string, number or boolean: a ${location.value} value is text`,
          [i, "value"],
          HIDDEN,
        ),
      );
    }
    if (problems.length === before && k.ok && location.ok)
      out.push({ key: k.value, value: item.value, location: location.value });
  }
  const [first, ...more] = problems;
  return first ? { ...first, ...(more.length ? { more } : {}) } : ok(out);
};
