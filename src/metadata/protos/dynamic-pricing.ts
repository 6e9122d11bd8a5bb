/**
 * Methods priced by the service itself (protocol/upstreams.md#dynamic-pricing): option 9999127
 * (`pricing.my_method_option`) names the price method. Read by extension number from the compiled
 * descriptors, so both option syntaxes count; every file is merged; a service without a package is
 * keyed `/<Service>/<rpc>` (the reference's `/.<Service>/<rpc>` never matched a real path).
 */
import { type DescMethod, getExtension, hasExtension } from "@bufbuild/protobuf";
import { my_method_option, PriceInCogsSchema } from "../../gen/pricing_pb.ts";
import type { CompiledProtos } from "./compile.ts";
import { methodPath } from "./methods.ts";

export interface DynamicPricing {
  /** Priced method path → price method path. */
  readonly priceMethods: ReadonlyMap<string, string>;
  /** Problems worth a start-up warning (the price call would fail at run time). */
  readonly warnings: readonly string[];
}

export function dynamicPricing(protos: CompiledProtos): DynamicPricing {
  const methods = new Map<string, DescMethod>();
  for (const file of protos.files)
    for (const s of file.services) for (const m of s.methods) methods.set(methodPath(m), m);
  const priceMethods = new Map<string, string>();
  const warnings: string[] = [];
  for (const [path, method] of methods) {
    const options = method.proto.options;
    if (!options || !hasExtension(options, my_method_option)) continue;
    const target = getExtension(options, my_method_option).estimatePriceMethod;
    if (target === "") {
      warnings.push(`method "${path}" has the pricing option without estimatePriceMethod; it keeps the fixed price`);
      continue;
    }
    priceMethods.set(path, target);
    const price = methods.get(target);
    if (!price) {
      warnings.push(`method "${path}" is priced by "${target}", which none of the service's proto files defines`);
    } else if (price.output.typeName !== PriceInCogsSchema.typeName) {
      warnings.push(
        `price method "${target}" returns "${price.output.typeName}", expected "${PriceInCogsSchema.typeName}"`,
      );
    } else if (price.input.typeName !== method.input.typeName) {
      warnings.push(
        `price method "${target}" takes "${price.input.typeName}", but "${path}" takes "${method.input.typeName}"; both get the same request`,
      );
    }
  }
  return { priceMethods, warnings };
}
