/**
 * Request message ↔ JSON for HTTP services, as the reference converts them (protocol/upstreams.md
 * §3.2, §3.4): protojson with proto field names, then Go's encoding/json; and back with protojson
 * (proto names and lowerCamel/json_name accepted, unknown fields discarded). The mapping itself is
 * @bufbuild/protobuf's; here are only the two places where Go and it differ: float fields print with
 * float32 precision (0.1, not 0.10000000149011612), and 64-bit integers in replies stay exact.
 */
import {
  type DescField,
  type DescMessage,
  fromBinary,
  fromJson,
  type JsonObject,
  type JsonValue,
  type Registry,
  ScalarType,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import { type GoJsonValue, isRawNumber, type LosslessJson, parseLossless, rawNumberText } from "./go-json.ts";

/** Decodes `message` as `desc` and returns its JSON object (proto field names), ready for stringifyGo. */
export function protoToJson(
  desc: DescMessage,
  message: Uint8Array,
  registry: Registry,
): { [key: string]: GoJsonValue } {
  const decoded = fromBinary(desc, message);
  const json = toJson(desc, decoded, { useProtoFieldName: true, registry });
  return narrowFloats(desc, json, registry) as { [key: string]: GoJsonValue };
}

/** Parses a JSON reply into `desc` and returns its binary form; throws with the reason on bad JSON. */
export function jsonToProto(desc: DescMessage, text: string, registry: Registry): Uint8Array {
  const tree = parseLossless(text);
  const message = fromJson(desc, forMessage(desc, tree, registry), { ignoreUnknownFields: true, registry });
  return toBinary(desc, message);
}

const SIXTY_FOUR = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
]);
const INT64_WRAPPERS = new Set(["google.protobuf.Int64Value", "google.protobuf.UInt64Value"]);
/** Well-known types whose JSON form is not an object of their fields (Any then nests it under "value"). */
const SPECIAL_JSON = new Set([
  "google.protobuf.Any",
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
  "google.protobuf.Empty",
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
]);

// ---- Outgoing: float fields printed with float32 precision, as Go's protojson does. ----

function narrowFloats(desc: DescMessage, json: JsonValue, registry: Registry): JsonValue {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    return desc.typeName === "google.protobuf.FloatValue" ? float32(json) : json;
  }
  if (desc.typeName === "google.protobuf.Any") {
    // A special-JSON type nests its value under "value"; any other type's fields sit beside "@type".
    const inner = anyType(json, registry);
    if (!inner) return json;
    const { "@type": url, value, ...fields } = json;
    if (SPECIAL_JSON.has(inner.typeName))
      return value === undefined ? json : { "@type": url ?? null, value: narrowFloats(inner, value, registry) };
    return {
      "@type": url ?? null,
      ...(narrowFloats(inner, { ...fields, ...(value === undefined ? {} : { value }) }, registry) as JsonObject),
    };
  }
  if (SPECIAL_JSON.has(desc.typeName)) return json;
  const out: JsonObject = { ...json };
  for (const field of desc.fields) {
    const value = out[field.name];
    if (value !== undefined) out[field.name] = narrowField(field, value, registry);
  }
  return out;
}

function narrowField(field: DescField, value: JsonValue, registry: Registry): JsonValue {
  const one = (v: JsonValue): JsonValue => {
    if (field.message) return narrowFloats(field.message, v, registry);
    return field.scalar === ScalarType.FLOAT ? float32(v) : v;
  };
  if (field.fieldKind === "list" && Array.isArray(value)) return value.map(one);
  if (field.fieldKind === "map" && value !== null && typeof value === "object" && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, one(v)]));
  }
  return one(value);
}

/** The shortest decimal that reads back as the same float32 (Go's FormatFloat(v, 'g', -1, 32)). */
function float32(value: JsonValue): JsonValue {
  if (typeof value !== "number" || !Number.isFinite(value) || value === 0) return value;
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

// ---- Incoming: 64-bit integers handed to the JSON reader as their exact text. ----

function forMessage(desc: DescMessage, node: LosslessJson, registry: Registry): JsonValue {
  if (INT64_WRAPPERS.has(desc.typeName)) return exactInteger(node);
  if (node === null || typeof node !== "object" || Array.isArray(node) || isRawNumber(node)) return plain(node);
  if (desc.typeName === "google.protobuf.Any") {
    const inner = anyType(node, registry);
    if (!inner) return plain(node);
    const { "@type": url, value, ...fields } = node;
    const typeUrl = plain(url ?? null);
    if (SPECIAL_JSON.has(inner.typeName))
      return value === undefined ? plain(node) : { "@type": typeUrl, value: forMessage(inner, value, registry) };
    return {
      "@type": typeUrl,
      ...(forMessage(inner, { ...fields, ...(value === undefined ? {} : { value }) }, registry) as JsonObject),
    };
  }
  if (SPECIAL_JSON.has(desc.typeName)) return plain(node);
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    const field = desc.fields.find((f) => f.name === key || f.jsonName === key);
    out[key] = field ? forField(field, value, registry) : plain(value);
  }
  return out;
}

function forField(field: DescField, value: LosslessJson, registry: Registry): JsonValue {
  const one = (v: LosslessJson): JsonValue => {
    if (field.message) return forMessage(field.message, v, registry);
    return field.scalar !== undefined && SIXTY_FOUR.has(field.scalar) ? exactInteger(v) : plain(v);
  };
  if (field.fieldKind === "list" && Array.isArray(value)) return value.map(one);
  if (
    field.fieldKind === "map" &&
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    !isRawNumber(value)
  ) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, one(v)]));
  }
  return one(value);
}

/** An integer literal goes on as text (exact as a string); anything else as a number, for the reader to judge. */
function exactInteger(node: LosslessJson): JsonValue {
  if (!isRawNumber(node)) return plain(node);
  const text = rawNumberText(node);
  return /^-?\d+$/.test(text) ? text : Number(text);
}

function plain(node: LosslessJson): JsonValue {
  if (isRawNumber(node)) return Number(rawNumberText(node));
  if (Array.isArray(node)) return node.map(plain);
  if (node !== null && typeof node === "object")
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, plain(v)]));
  return node;
}

/** The message type an Any's "@type" URL names, if the registry knows it. */
function anyType(node: { [key: string]: unknown }, registry: Registry): DescMessage | undefined {
  const url = node["@type"];
  return typeof url === "string" ? registry.getMessage(url.slice(url.lastIndexOf("/") + 1)) : undefined;
}
