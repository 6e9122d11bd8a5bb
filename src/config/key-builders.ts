/**
 * How a config key is declared: its metadata (type as shown, text parsing, default, description, ★ mark) in
 * `keyRegistry`, and a zod leaf that runs a value check from values.ts. Sections are registered in
 * `groupRegistry`. The builders below are the vocabulary of the key declarations in keys.ts.
 */
import { z } from "zod";
import { asPrivateKey } from "./secret-values.ts";
import {
  asAddress,
  asBigint,
  asBool,
  asDuration,
  asInt,
  asListOf,
  asNonEmptyText,
  asOneOf,
  asText,
  asUrl,
  type Check,
  HIDDEN,
  optional,
} from "./values.ts";

/** How text from an environment variable or a flag is turned into a value of this key. */
export type TextParse = "text" | "bool" | "number" | "list" | "json";

export interface KeyMeta {
  /** Type as shown to users: "bool", "duration", "URL", "[address]"… */
  type: string;
  parse: TextParse;
  /** Default as written in a config file; `undefined` = unset. */
  default: unknown;
  description: string;
  /** ★: a working paid service needs it, or operators set it routinely. */
  important?: boolean;
  /** Never printed: start-up log, problems and warnings show "(set)" / a hidden marker instead. */
  secret?: boolean;
  /** A URL whose path or query may carry a provider API key (Infura, Alchemy): logged as its origin only. */
  keyInUrl?: boolean;
  /** Accepted for compatibility with the reference daemon; snetd does not act on it yet. */
  unused?: boolean;
}
export type Extra = Pick<KeyMeta, "important" | "secret" | "keyInUrl" | "unused">;

export const keyRegistry = z.registry<KeyMeta>();
export const groupRegistry = z.registry<{ description: string }>();

export function key<T>(meta: KeyMeta, check: Check<T>) {
  return z
    .unknown()
    .transform((input, ctx): T => {
      const value = input === undefined || input === null ? meta.default : input;
      const r = check(value);
      if (r.ok) return r.value;
      for (const p of [r, ...(r.more ?? [])]) {
        // A check names a given value only when it is safe to show (an explicit undefined: nothing was
        // given); otherwise secrets stay hidden
        const given = "given" in p ? p.given : meta.secret ? HIDDEN : value;
        ctx.addIssue({
          code: "custom",
          message: p.reason,
          path: p.at ?? [],
          params: { reason: p.reason, expected: p.expected, given },
        });
      }
      return z.NEVER;
    })
    .prefault(null) // runs the check (and so the default) for absent keys too
    .register(keyRegistry, meta);
}

export function group<S extends z.core.$ZodLooseShape>(description: string, shape: S) {
  const obj = z.object(shape);
  // Every child accepts an absent value (leaves default, groups recurse), so `{}` is a valid input
  return obj.prefault({} as z.input<typeof obj>).register(groupRegistry, { description });
}

export const m = (type: string, parse: TextParse, def: unknown, description: string, extra?: Extra): KeyMeta => ({
  type,
  parse,
  default: def,
  description,
  ...extra,
});

export const text = (def: string, d: string, x?: Extra) => key(m("string", "text", def, d, x), asText);
export const optText = (d: string, x?: Extra) => key(m("string", "text", undefined, d, x), optional(asText));
export const nonEmpty = (def: string, d: string, x?: Extra) => key(m("string", "text", def, d, x), asNonEmptyText);
export const bool = (def: boolean, d: string, x?: Extra) => key(m("bool", "bool", def, d, x), asBool);
export const int = (def: number, min: number, max: number, d: string, x?: Extra) =>
  key(m("int", "number", def, d, x), asInt(min, max));
export const optInt = (min: number, max: number, d: string, x?: Extra) =>
  key(m("int", "number", undefined, d, x), optional(asInt(min, max)));
export const duration = (def: string, d: string, x?: Extra) => key(m("duration", "text", def, d, x), asDuration);
export const cogs = (def: number | undefined, d: string, x?: Extra) =>
  key(m("integer (bigint)", "text", def, d, x), def === undefined ? optional(asBigint) : asBigint);
export const httpUrl = (def: string, example: string, d: string, x?: Extra) =>
  key(m("URL", "text", def, d, x), asUrl(["http", "https"], example, false));
export const optHttpUrl = (example: string, d: string, x?: Extra) =>
  key(m("URL", "text", undefined, d, x), optional(asUrl(["http", "https"], example, false)));
export const address = (d: string, x?: Extra) => key(m("address", "text", undefined, d, x), optional(asAddress));
export const addresses = (def: string[], d: string, x?: Extra) =>
  key(m("[address]", "list", def, d, x), asListOf(asAddress));
export const secretKey = (d: string, x?: Extra) =>
  key(m("hex key", "text", undefined, d, { ...x, secret: true }), optional(asPrivateKey));
export const oneOf = <const T extends string>(values: readonly T[], def: T, d: string, x?: Extra) =>
  key(m(values.map((s) => (s === "" ? '""' : s)).join(" | "), "text", def, d, x), asOneOf(values));
