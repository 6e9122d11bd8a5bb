/**
 * Value checks of config keys. Each returns the normalised value or why the value is wrong and what is
 * expected, because every problem must say the key, the value given and what is expected
 * (protocol/reference-differences.md#d32) — zod's generic messages do not. This file holds the vocabulary
 * (`Check`, `ok`, `bad`, `optional`) and the checks of plain values; the keys holding secrets are checked
 * in secret-values.ts, the keys whose value is a structure in compound-values.ts.
 */

/** Shown instead of a secret value in problems. */
export const HIDDEN = "(hidden)";

export type Address = `0x${string}`;
export type Hex = `0x${string}`;
export type Ok<T> = { ok: true; value: T };
export type Bad = {
  ok: false;
  reason: string;
  expected: string;
  at?: (string | number)[];
  given?: unknown;
  /** Further problems of the same value (a list with several bad entries). */
  more?: Bad[];
};
export type Check<T> = (value: unknown) => Ok<T> | Bad;

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });
export const bad = (reason: string, expected: string, at?: (string | number)[], given?: unknown): Bad => ({
  ok: false,
  reason,
  expected,
  ...(at ? { at } : {}),
  ...(given !== undefined ? { given } : {}),
});

/** Absent or empty text means unset. */
export const optional =
  <T>(check: Check<T>): Check<T | undefined> =>
  (value) =>
    value === undefined || value === "" ? ok(undefined) : check(value);

export const asText: Check<string> = (value) =>
  typeof value === "string"
    ? ok(value)
    : (typeof value === "number" && Number.isFinite(value)) || typeof value === "bigint"
      ? ok(String(value)) // YAML reads `token: 518` as a number; the key means text
      : bad(`is ${kindOf(value)}`, "text");
export const asNonEmptyText: Check<string> = (value) => {
  const r = asText(value);
  return r.ok && r.value.trim() === "" ? bad("is empty", "a non-empty value") : r;
};

export const asBool: Check<boolean> = (value) =>
  typeof value === "boolean" ? ok(value) : bad("is not a boolean", "true or false");

export const asInt =
  (min: number, max: number): Check<number> =>
  (value) => {
    // YAML reads integers beyond 2^53 as bigints: a number, only far out of range.
    if (typeof value === "bigint") return bad("is out of range", `an integer from ${min} to ${max}`);
    const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n)) {
      return bad("is not an integer", `an integer from ${min} to ${max}`);
    }
    return n < min || n > max ? bad("is out of range", `an integer from ${min} to ${max}`) : ok(n);
  };

export const asPositiveNumber: Check<number> = (value) => {
  // The reference documents this key as "string or int"
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) && n > 0
    ? ok(n)
    : bad("is not a positive number", "a number above 0");
};

/** Amounts and block counts: bigint, written as an integer or a string of digits (large values must be text). */
export const asBigint: Check<bigint> = (value) => {
  if (typeof value === "bigint" && value >= 0n) return ok(value); // exact integers from YAML
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) {
      return bad(
        "is not a safe whole number",
        'a whole number ≥ 0; write large amounts as a string of digits, e.g. "100000000000"',
      );
    }
    return ok(BigInt(value));
  }
  if (typeof value === "string" && /^\d{1,78}$/.test(value.trim())) return ok(BigInt(value.trim()));
  return bad("is not a whole number", 'a whole number ≥ 0 as digits, e.g. "100000000"');
};

const GO_DURATION = /^(?:(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };

/**
 * Go duration text (`"100s"`, `"1m30s"`, `"250ms"`) in milliseconds, or undefined when it is not one.
 * The reference silently treats a typo as "no timeout" (protocol/reference-differences.md#d38); we refuse it.
 */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === "0") return 0;
  if (!GO_DURATION.test(t)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of t.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    ms += Number(amount) * (UNIT_MS[unit ?? ""] ?? Number.NaN);
  }
  return Number.isFinite(ms) ? ms : undefined;
}
export const asDuration: Check<number> = (value) => {
  const ms = typeof value === "string" ? parseDuration(value) : undefined;
  return ms === undefined ? bad("is not a duration", 'Go duration text such as "100s", "5m" or "1m30s"') : ok(ms);
};

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
export const asUrl =
  (schemes: readonly string[], example: string, defaultHttp: boolean): Check<string> =>
  (value) => {
    const expected = `${schemes.join(" or ")} URL with a host, e.g. ${example}`;
    if (typeof value !== "string") return bad(`is ${kindOf(value)}`, expected);
    let text = value.trim();
    if (defaultHttp && !HAS_SCHEME.test(text)) text = `http://${text}`; // the reference prepends http:// too
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      return bad("is not a URL", expected);
    }
    const scheme = parsed.protocol.slice(0, -1).toLowerCase();
    if (!schemes.includes(scheme)) return bad(`has scheme "${scheme}"`, expected);
    if (parsed.hostname === "") return bad("has no host", expected);
    return ok(text);
  };

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):(\d{1,5})$/;

/** `host:port` (IPv6 in brackets) as host without brackets and port, or undefined. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const match = HOST_PORT.exec(
    text
      .trim()
      .replace(/^(https?|grpc):\/\//i, "")
      .replace(/\/$/, ""),
  );
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (match[1] ?? "").replace(/^\[|\]$/g, ""), port };
}
export const asHostPort: Check<string> = (value) => {
  const hp = typeof value === "string" ? parseHostPort(value) : undefined;
  if (!hp) return bad("is not host:port", "e.g. 127.0.0.1:8080");
  return ok(hp.host.includes(":") ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`);
};

export const asAddress: Check<Address> = (value) =>
  typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value.trim())
    ? ok(value.trim().toLowerCase() as Address)
    : bad("is not an address", "0x followed by 40 hex digits");

export const asEmail: Check<string> = (value) =>
  value === "" || (typeof value === "string" && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value.trim()))
    ? ok(typeof value === "string" ? value.trim() : "")
    : bad("is not an e-mail address", "e.g. ops@example.org");

export const asOneOf =
  <const T extends string>(values: readonly T[]): Check<T> =>
  (value) => {
    const text = typeof value === "string" ? value.trim().toLowerCase() : undefined;
    const hit = values.find((x) => x === text);
    return hit !== undefined
      ? ok(hit)
      : bad("is not a known value", `one of ${values.map((x) => `"${x}"`).join(", ")}`);
  };

/** A list; a single value counts as a one-element list (the reference accepts that for log.output.type). */
export const asListOf =
  <T>(item: Check<T>): Check<T[]> =>
  (value) => {
    const items = Array.isArray(value) ? value : [value];
    const out: T[] = [];
    for (const [i, x] of items.entries()) {
      const r = item(x);
      if (!r.ok) return Array.isArray(value) ? { ...r, at: [i, ...(r.at ?? [])], given: r.given ?? x } : r;
      out.push(r.value);
    }
    return ok(out);
  };

export const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/** An HTTP header name (an RFC 9110 token), or empty for none. */
export const asHeaderName: Check<string> = (value) => {
  const r = asText(value);
  if (!r.ok || r.value === "") return r;
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(r.value))
    return bad("is not an HTTP header name", "a header name such as X-Snet-User-Address, or empty");
  if (r.value.toLowerCase() === "content-type")
    return bad("is the header snetd sets itself", "another header name, e.g. X-Snet-User-Address");
  return r;
};

export function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return "text";
  return typeof value === "bigint" ? "a number" : `a ${typeof value}`;
}
