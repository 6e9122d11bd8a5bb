// Pricing models of protocol/payments.md#pricing.
import { describe, expect, test } from "bun:test";
import { Code, SnetError } from "../../src/core/errors.ts";
import { parseOrgMetadata, parseServiceMetadata, selectGroup } from "../../src/metadata/model.ts";
import { buildPricing, type PricingEntry, priceOf } from "../../src/metadata/pricing.ts";
import { orgMetadata, serviceMetadata } from "./fixtures.ts";

const where = 'group "default_group"';
const perMethod = (packageName?: string): PricingEntry => ({
  price_model: "fixed_price_per_method",
  default: true,
  ...(packageName !== undefined && { package_name: packageName }),
  details: [
    {
      service_name: "Calculator",
      method_pricing: [
        { method_name: "add", price_in_cogs: 10n },
        { method_name: "mul", price_in_cogs: 18446744073709551617n },
      ],
    },
    { service_name: "Other", method_pricing: [{ method_name: "run", price_in_cogs: 0n }] },
  ],
});

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("priceOf", () => {
  test("fixed_price: the same price for every method, above 2^53 included", () => {
    const p = buildPricing([{ price_model: "fixed_price", price_in_cogs: 9007199254740993n, default: true }], where);
    expect(priceOf(p, "/example_service.Calculator/add")).toBe(9007199254740993n);
    expect(priceOf(p, "/x/y")).toBe(9007199254740993n);
  });

  test("only the default entry counts", () => {
    const p = buildPricing(
      [
        { price_model: "fixed_price", price_in_cogs: 1n },
        { price_model: "fixed_price", price_in_cogs: 2n, default: true },
      ],
      where,
    );
    expect(priceOf(p, "/a/b")).toBe(2n);
  });

  test("fixed_price_per_method keyed /<package>.<service>/<method>", () => {
    const p = buildPricing([perMethod("example_service")], where);
    expect(priceOf(p, "/example_service.Calculator/add")).toBe(10n);
    expect(priceOf(p, "/example_service.Calculator/mul")).toBe(18446744073709551617n);
    expect(priceOf(p, "/example_service.Other/run")).toBe(0n);
    const err = errorOf(() => priceOf(p, "/Calculator/add"));
    expect(err).toBeInstanceOf(SnetError);
    expect((err as SnetError).code).toBe(Code.INTERNAL);
    expect((err as SnetError).message).toBe("internal error: price is not defined for the Method /Calculator/add");
  });

  test("fixed_price_per_method without package_name keyed /<service>/<method>", () => {
    for (const p of [buildPricing([perMethod()], where), buildPricing([perMethod("")], where)]) {
      expect(priceOf(p, "/Calculator/add")).toBe(10n);
      expect((errorOf(() => priceOf(p, "/example_service.Calculator/add")) as Error).message).toContain(
        "price is not defined for the Method /example_service.Calculator/add",
      );
    }
  });

  test("from a parsed document with a price above 2^64", () => {
    const text = JSON.stringify(
      serviceMetadata({
        groups: [
          {
            ...serviceMetadata().groups[0],
            pricing: [
              {
                ...perMethod("pkg"),
                details: [{ service_name: "S", method_pricing: [{ method_name: "m", price_in_cogs: 1 }] }],
              },
            ],
          },
        ],
      }),
    ).replace('"price_in_cogs":1', '"price_in_cogs":36893488147419103233');
    const group = selectGroup(
      parseOrgMetadata(JSON.stringify(orgMetadata())),
      parseServiceMetadata(text),
      "default_group",
    );
    expect(priceOf(group.pricing, "/pkg.S/m")).toBe(36893488147419103233n);
  });
});

describe("buildPricing refuses", () => {
  const cases: Array<[string, PricingEntry[], string]> = [
    ["no default", [{ price_model: "fixed_price", price_in_cogs: 1n }], 'has no pricing entry with "default": true'],
    ["no entries", [], 'has no pricing entry with "default": true'],
    [
      "two defaults",
      [
        { price_model: "fixed_price", price_in_cogs: 1n, default: true },
        { price_model: "fixed_price", price_in_cogs: 2n, default: true },
      ],
      'has 2 pricing entries with "default": true',
    ],
    ["fixed_price without a price", [{ price_model: "fixed_price", default: true }], 'has no "price_in_cogs"'],
    [
      "unknown model",
      [{ price_model: "dynamic", default: true }],
      'price_model "dynamic" of the default pricing entry is not supported',
    ],
    [
      "per-method without methods",
      [{ price_model: "fixed_price_per_method", default: true, details: [] }],
      "prices no method",
    ],
    [
      "a method priced twice differently",
      [
        {
          price_model: "fixed_price_per_method",
          default: true,
          details: [
            { service_name: "S", method_pricing: [{ method_name: "m", price_in_cogs: 1n }] },
            { service_name: "S", method_pricing: [{ method_name: "m", price_in_cogs: 2n }] },
          ],
        },
      ],
      'method "/S/m" is priced twice (1 and 2 cogs)',
    ],
  ];
  for (const [name, entries, message] of cases) {
    test(name, () => {
      expect(() => buildPricing(entries, where)).toThrow(`${where}`);
      expect(() => buildPricing(entries, where)).toThrow(message);
    });
  }
});
