/**
 * What a Connect call needs to become a gRPC call and back (docs/protocol/headers.md#connect): the method's
 * request and reply types — from the daemon's own methods, else from the service's compiled protos by
 * exact path — and the canonical proto3 JSON mapping of @bufbuild/protobuf (lowerCamelCase names, enums
 * by name, 64-bit integers as strings, bytes as base64). Not the Go-style mapping of http upstreams
 * (upstreams/go-json.ts): Connect clients expect the canonical one.
 */
import {
  type DescMessage,
  type DescMethod,
  fromBinary,
  fromJson,
  type JsonValue,
  type Registry,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { connectReplyUndecodable, invalidJsonRequest } from "../core/messages/connect.ts";
import type { CompiledProtos } from "../metadata/protos/compile.ts";
import { methodFinder } from "../metadata/protos/methods.ts";

/** A method's request and reply types and its kind (unary, server_streaming, …). */
export interface MethodTypes {
  readonly input: DescMessage;
  readonly output: DescMessage;
  readonly kind: DescMethod["methodKind"];
}

export interface ConnectCodec {
  /** The types of the method at `path`, or undefined when neither the daemon nor the protos know it. */
  types(path: string): MethodTypes | undefined;
  /** Why the service's methods cannot be called with JSON (its protos are not loaded); undefined when they can. */
  readonly jsonUnavailable: string | undefined;
  /** For `google.protobuf.Any` fields: every type of the service's protos. */
  readonly registry: Registry | undefined;
}

export interface ConnectCodecOptions {
  /** The service's compiled protos; absent when they could not be loaded (`jsonUnavailable` says why). */
  readonly protos?: CompiledProtos;
  readonly jsonUnavailable?: string;
  /** The daemon's own methods that have types (channel state, tokens, health…). */
  readonly own?: Iterable<{ readonly path: string; readonly types?: MethodTypes }>;
}

/** The types of every method a Connect call may name. */
export function connectCodec(opts: ConnectCodecOptions): ConnectCodec {
  const own = new Map<string, MethodTypes>();
  for (const m of opts.own ?? []) if (m.types) own.set(m.path, m.types);
  const find = opts.protos ? methodFinder(opts.protos) : undefined;
  return {
    types(path) {
      const mine = own.get(path);
      if (mine) return mine;
      const found = find?.(path);
      // Exact paths only: Connect clients build the path from the same protos, so a name-only match
      // (kept for http upstreams, metadata/protos/methods.ts) would only hide a wrong package.
      if (found?.kind !== "found" || !found.exact) return undefined;
      return { input: found.method.input, output: found.method.output, kind: found.method.methodKind };
    },
    jsonUnavailable: opts.protos ? undefined : (opts.jsonUnavailable ?? "the service's proto files are not loaded"),
    registry: opts.protos?.registry,
  };
}

/** A JSON request body as the binary request message; a body that is not one is INVALID_ARGUMENT naming the problem. */
export function jsonToBinary(
  path: string,
  schema: DescMessage,
  body: Uint8Array,
  registry: Registry | undefined,
): Uint8Array {
  const fail = (detail: string) => invalidJsonRequest(path, schema.typeName, detail);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw fail("the body is not UTF-8");
  }
  // An empty body is the empty message, as for a binary body of zero bytes.
  if (text.trim() === "") return new Uint8Array(0);
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (err) {
    throw fail(`the body is not JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw fail(
      `the body is ${Array.isArray(value) ? "an array" : value === null ? "null" : `a ${typeof value}`}, expected a JSON object`,
    );
  }
  try {
    // Unknown fields are refused, not dropped: a misspelt field would otherwise be silently ignored.
    return toBinary(schema, fromJson(schema, value, registry ? { registry } : {}));
  } catch (err) {
    throw fail((err as Error).message);
  }
}

/** The service's binary reply as canonical proto3 JSON. */
export function binaryToJson(
  path: string,
  schema: DescMessage,
  bytes: Uint8Array,
  registry: Registry | undefined,
): string {
  try {
    return toJsonString(schema, fromBinary(schema, bytes), registry ? { registry } : {});
  } catch (err) {
    throw connectReplyUndecodable(path, `not a ${schema.typeName} (${(err as Error).message})`);
  }
}
