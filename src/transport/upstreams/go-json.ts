/**
 * JSON as the reference daemon's HTTP and JSON-RPC adapters put it on the wire: Go's `encoding/json`
 * (protocol/upstreams.md#proto-to-json, §4) — object keys sorted, compact, `<` `>` `&` U+2028 U+2029 escaped —
 * but with numbers kept exactly: parsing keeps each number's source text, so a 20-digit integer is not
 * rounded through float64 as the reference does.
 */

const RAW = Symbol("JSON number text");

/** A JSON number kept as its source text (lossless). */
export interface RawNumber {
  readonly [RAW]: string;
}

export type LosslessJson = null | boolean | string | RawNumber | LosslessJson[] | { [key: string]: LosslessJson };

export function rawNumber(text: string): RawNumber {
  return { [RAW]: text };
}

export function isRawNumber(value: unknown): value is RawNumber {
  return typeof value === "object" && value !== null && RAW in value;
}

export function rawNumberText(value: RawNumber): string {
  return value[RAW];
}

// JSON.parse source text access (TC39 stage 3, in Bun's JavaScriptCore): the reviver's third argument.
type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

/** Parses JSON keeping every number as its source text; throws SyntaxError like JSON.parse. */
export function parseLossless(text: string): LosslessJson {
  const reviver: Reviver = (_key, value, context) =>
    typeof value === "number" && context?.source !== undefined ? rawNumber(context.source) : value;
  return JSON.parse(text, reviver as Parameters<typeof JSON.parse>[1]) as LosslessJson;
}

/** Value accepted by `stringifyGo`: lossless JSON, plus plain numbers and bigints. */
export type GoJsonValue = LosslessJson | number | bigint | undefined | GoJsonValue[] | { [key: string]: GoJsonValue };

/**
 * Serialises like Go's json.Marshal of map[string]any: keys sorted by code point (Go compares UTF-8
 * bytes, which orders the same), no spaces, HTML-safe escaping. Numbers print as Go prints a float64
 * (the same digits as JavaScript, except that -0 stays "-0"); raw numbers print their source text.
 * Object members whose value is undefined are left out.
 */
export function stringifyGo(value: GoJsonValue): string {
  const parts: string[] = [];
  write(value, parts);
  return parts.join("");
}

function write(value: GoJsonValue, out: string[]): void {
  if (value === null || value === undefined) {
    out.push("null");
  } else if (typeof value === "boolean") {
    out.push(value ? "true" : "false");
  } else if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`cannot encode ${value} as JSON`);
    out.push(Object.is(value, -0) ? "-0" : String(value));
  } else if (typeof value === "bigint") {
    out.push(value.toString());
  } else if (typeof value === "string") {
    out.push(quote(value));
  } else if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item, i) => {
      if (i > 0) out.push(",");
      write(item, out);
    });
    out.push("]");
  } else if (isRawNumber(value)) {
    out.push(rawNumberText(value));
  } else {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort(byCodePoint);
    out.push("{");
    keys.forEach((key, i) => {
      if (i > 0) out.push(",");
      out.push(quote(key), ":");
      write(value[key] as GoJsonValue, out);
    });
    out.push("}");
  }
}

/** JavaScript sorts by UTF-16 code unit; Go by UTF-8 byte, i.e. by code point. They differ above U+FFFF. */
function byCodePoint(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done) return cb.done ? 0 : -1;
    if (cb.done) return 1;
    const d = (ca.value.codePointAt(0) as number) - (cb.value.codePointAt(0) as number);
    if (d !== 0) return d;
  }
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** Go's encodeState.string with HTML escaping on; lone surrogates become U+FFFD as Go does for bad UTF-8. */
function quote(s: string): string {
  const escaped = s.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: Go escapes U+0000-U+001F, so the pattern must match them
    /["\\\u0000-\u001f<>&\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => {
      const short = SHORT_ESCAPES[c];
      if (short) return short;
      if (c.length === 1 && c >= "\ud800" && c <= "\udfff") return "\ufffd";
      return `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, "0")}`;
    },
  );
  return `"${escaped}"`;
}
