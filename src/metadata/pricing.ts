/**
 * Price of a call from the group's `pricing[]` in service metadata (protocol/payments.md#pricing). Only the
 * entry with `default: true` counts. Built once at load time so the paid-call path is one Map lookup.
 */
import { priceNotDefined } from "../core/messages/service.ts";

export type Pricing =
  | { readonly model: "fixed_price"; readonly priceInCogs: bigint }
  | {
      readonly model: "fixed_price_per_method";
      /** Keyed by gRPC path: `/<package>.<service>/<method>`, or `/<service>/<method>` without a package. */
      readonly methods: ReadonlyMap<string, bigint>;
    };

/** One `pricing[]` entry as parsed from metadata (integers already bigint). */
export interface PricingEntry {
  price_model: string;
  price_in_cogs?: bigint | undefined;
  default?: boolean | undefined;
  package_name?: string | undefined;
  details?:
    | ReadonlyArray<{
        service_name: string;
        method_pricing: ReadonlyArray<{ method_name: string; price_in_cogs: bigint }>;
      }>
    | undefined;
}

/**
 * Builds the pricing of one group; `where` names the document and group in error messages, e.g.
 * `group "default_group" of service metadata "example-service"`. Throws Error on invalid pricing.
 */
export function buildPricing(entries: readonly PricingEntry[], where: string): Pricing {
  const defaults = entries.filter((e) => e.default === true);
  if (defaults.length === 0) {
    throw new Error(`${where} has no pricing entry with "default": true; mark the entry the daemon should charge`);
  }
  if (defaults.length > 1) {
    const models = defaults.map((e) => `"${e.price_model}"`).join(", ");
    throw new Error(`${where} has ${defaults.length} pricing entries with "default": true (${models}), expected one`);
  }
  const entry = defaults[0] as PricingEntry;
  switch (entry.price_model) {
    case "fixed_price":
      if (entry.price_in_cogs === undefined) {
        throw new Error(`${where}: the default "fixed_price" pricing entry has no "price_in_cogs"`);
      }
      return { model: "fixed_price", priceInCogs: entry.price_in_cogs };
    case "fixed_price_per_method":
      return { model: "fixed_price_per_method", methods: methodPrices(entry, where) };
    default:
      throw new Error(
        `${where}: price_model "${entry.price_model}" of the default pricing entry is not supported, ` +
          `expected "fixed_price" or "fixed_price_per_method"`,
      );
  }
}

function methodPrices(entry: PricingEntry, where: string): Map<string, bigint> {
  const methods = new Map<string, bigint>();
  const prefix = entry.package_name ? `${entry.package_name}.` : "";
  for (const detail of entry.details ?? []) {
    for (const m of detail.method_pricing) {
      const path = `/${prefix}${detail.service_name}/${m.method_name}`;
      const previous = methods.get(path);
      if (previous !== undefined && previous !== m.price_in_cogs) {
        throw new Error(`${where}: method "${path}" is priced twice (${previous} and ${m.price_in_cogs} cogs)`);
      }
      methods.set(path, m.price_in_cogs);
    }
  }
  if (methods.size === 0) {
    throw new Error(`${where}: the default "fixed_price_per_method" pricing entry prices no method`);
  }
  return methods;
}

/**
 * Price in cogs of a call to `methodPath` (the gRPC path, e.g. `/example_service.Calculator/add`).
 * Unpriced methods fail with the reference's INTERNAL error, whose wire text carries the
 * `internal error: ` prefix of its catch-all (protocol/errors.md#payment-refusals).
 */
export function priceOf(pricing: Pricing, methodPath: string): bigint {
  if (pricing.model === "fixed_price") return pricing.priceInCogs;
  const price = pricing.methods.get(methodPath);
  if (price === undefined) throw priceNotDefined(methodPath);
  return price;
}
