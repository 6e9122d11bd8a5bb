/**
 * Custom method options (`option (pricing.my_method_option).estimatePriceMethod = "…";`, training's
 * 50001–50008) written into each MethodDescriptorProto as real extension values, so they are read by
 * extension number from the compiled descriptors, whichever option syntax the file used.
 *
 * protobufjs parses both syntaxes (`option (x).f = v;` and `option (x) = { f: v };`) into the same
 * parsedOptions object; the extension is resolved with protobuf scoping from the service's package.
 */
import {
  create,
  type DescExtension,
  type DescMessage,
  type FileRegistry,
  fromJson,
  type JsonValue,
  ScalarType,
  setExtension,
} from "@bufbuild/protobuf";
import { type FileDescriptorProto, type MethodOptions, MethodOptionsSchema } from "@bufbuild/protobuf/wkt";
import protobuf from "protobufjs";
import { protoError } from "./errors.ts";
import type { ParsedFile } from "./parse.ts";

/** Sets the custom options of every method of `file` on its descriptor `proto` (same declaration order). */
export function applyMethodOptions(file: ParsedFile, proto: FileDescriptorProto, registry: FileRegistry): void {
  const services = file.declarations.filter((d): d is protobuf.Service => d instanceof protobuf.Service);
  services.forEach((service, i) => {
    service.methodsArray.forEach((method, j) => {
      const target = proto.service[i]?.method[j];
      const parsed = method.parsedOptions as Record<string, unknown>[] | undefined;
      if (!target || !parsed?.length) return;
      const options = create(MethodOptionsSchema);
      let any = false;
      for (const entry of parsed) {
        for (const [name, value] of Object.entries(entry)) {
          if (!name.startsWith("(")) continue; // standard options (deprecated, idempotency_level) are not needed
          setOption(options, name, value, method, file, registry);
          any = true;
        }
      }
      if (any) target.options = options;
    });
  });
}

function setOption(
  options: MethodOptions,
  name: string,
  value: unknown,
  method: protobuf.Method,
  file: ParsedFile,
  registry: FileRegistry,
) {
  const where = `file "${file.name}": option ${name} of method "${method.fullName.slice(1)}"`;
  const extName = name.slice(1, name.indexOf(")"));
  const declared = method.parent?.lookup(extName);
  if (!(declared instanceof protobuf.Field) || declared.extend === undefined) {
    throw protoError(`${where} names no known extension`);
  }
  const ext = registry.getExtension(declared.fullName.slice(1));
  if (!ext) throw protoError(`${where} names no known extension`);
  if (ext.extendee.typeName !== MethodOptionsSchema.typeName) {
    throw protoError(`${where} extends "${ext.extendee.typeName}", not "${MethodOptionsSchema.typeName}"`);
  }
  try {
    setExtension(options, ext, extensionValue(ext, value, registry) as never);
  } catch (err) {
    // Options the daemon reads must be right; a value of any other option (google.api.http…) that this
    // reader cannot take is left out rather than refusing a service whose protos protoc accepts.
    if (DAEMON_OPTIONS.has(ext.number)) throw protoError(`${where} has a bad value: ${(err as Error).message}`, err);
  }
}

/** Dynamic pricing (9999127) and training (50001–50008). */
const DAEMON_OPTIONS = new Set([9999127, 50001, 50002, 50003, 50004, 50005, 50006, 50007, 50008]);

/**
 * A text-format aggregate as protobufjs parsed it → the JSON form: a repeated field written once is a
 * single value, and map entries are `{ key, value }` objects.
 */
function textToJson(desc: DescMessage, value: unknown): JsonValue {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value as JsonValue;
  const out: Record<string, JsonValue> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = desc.fields.find((f) => f.name === key);
    if (!field) {
      out[key] = v as JsonValue;
      continue;
    }
    const items = Array.isArray(v) ? v : [v];
    if (field.fieldKind === "list") {
      out[key] = items.map((item) => (field.message ? textToJson(field.message, item) : (item as JsonValue)));
    } else if (field.fieldKind === "map") {
      const entries = items as { key?: unknown; value?: unknown }[];
      out[key] = Object.fromEntries(
        entries.map((e) => [
          String(e.key),
          field.message ? textToJson(field.message, e.value) : (e.value as JsonValue),
        ]),
      );
    } else {
      out[key] = field.message ? textToJson(field.message, v) : (v as JsonValue);
    }
  }
  return out;
}

function extensionValue(ext: DescExtension, value: unknown, registry: FileRegistry): unknown {
  switch (ext.fieldKind) {
    case "message":
      // Text-format aggregates use proto field names and enum names, which the JSON reader accepts too.
      return fromJson(ext.message, textToJson(ext.message, value), { registry, ignoreUnknownFields: true });
    case "enum": {
      if (typeof value === "number") return value;
      const known = ext.enum.values.find((v) => v.name === value);
      if (!known) throw new Error(`"${String(value)}" is not a value of ${ext.enum.typeName}`);
      return known.number;
    }
    case "scalar":
      return scalarValue(ext.scalar, value);
    case "list":
      throw new Error("repeated option extensions are not supported");
  }
}

function scalarValue(type: ScalarType, value: unknown): unknown {
  switch (type) {
    case ScalarType.STRING:
      if (typeof value !== "string") throw new Error(`expected a string, got ${JSON.stringify(value)}`);
      return value;
    case ScalarType.BOOL:
      if (typeof value !== "boolean") throw new Error(`expected true or false, got ${JSON.stringify(value)}`);
      return value;
    case ScalarType.BYTES:
      if (typeof value !== "string") throw new Error(`expected a string, got ${JSON.stringify(value)}`);
      return new TextEncoder().encode(value);
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      if (typeof value !== "number" && typeof value !== "string")
        throw new Error(`expected an integer, got ${JSON.stringify(value)}`);
      return BigInt(value);
    default:
      if (typeof value !== "number") throw new Error(`expected a number, got ${JSON.stringify(value)}`);
      return value;
  }
}
