/**
 * Parses a service's .proto sources with protobufjs into one reflection tree, on top of the standard
 * files (protocol/upstreams.md#proto-files). Only parsing and name resolution happen here; descriptors.ts turns
 * the tree into FileDescriptorProtos for @bufbuild/protobuf.
 */
import protobuf from "protobufjs";
// Side effect: adds Root.fromDescriptor, used to load the standard files from their descriptors.
import "protobufjs/ext/descriptor/index.js";
import { protoError } from "./errors.ts";

export type Syntax = "proto2" | "proto3";

export interface ParsedFile {
  readonly name: string;
  /** "" when the file declares no package. */
  readonly package: string;
  readonly imports: readonly string[];
  readonly syntax: Syntax;
  /** Top-level messages, enums, services and extensions, in declaration order. */
  readonly declarations: readonly protobuf.ReflectionObject[];
}

export interface ParsedProtos {
  readonly root: protobuf.Root;
  readonly files: readonly ParsedFile[];
}

// protobufjs keeps the file being parsed in a static (used for error texts and `filename` tags); its
// typings do not declare it.
const parseState = protobuf.parse as unknown as { filename: string | null };
// Added by protobufjs/ext/descriptor; not in protobufjs's typings.
const RootWithDescriptors = protobuf.Root as unknown as { fromDescriptor(set: Uint8Array): protobuf.Root };

/**
 * Parses `sources` (file name → text) into a tree that already holds the standard files, given as a
 * binary FileDescriptorSet; every type reference is resolved. Throws a compile error naming the file.
 */
export function parseProtos(
  sources: ReadonlyMap<string, string>,
  standardFiles: Uint8Array,
  isStandard: (name: string) => boolean,
): ParsedProtos {
  const root = RootWithDescriptors.fromDescriptor(standardFiles);
  const heads: { name: string; package: string; imports: string[] }[] = [];
  for (const [name, text] of sources) {
    parseState.filename = name;
    try {
      const parsed = protobuf.parse(text, root, { keepCase: true });
      const imports = [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])];
      for (const imported of imports) {
        if (!sources.has(imported) && !isStandard(imported)) {
          throw protoError(
            `file "${name}" imports "${imported}", which is neither among the proto files nor a standard file`,
          );
        }
      }
      heads.push({ name, package: parsed.package ?? "", imports });
    } catch (err) {
      throw wrap(err, name);
    } finally {
      parseState.filename = null;
    }
  }
  try {
    root.resolveAll();
  } catch (err) {
    throw wrap(err);
  }
  const declarations = declarationsByFile(root);
  const files = heads.map((head) => {
    const decls = declarations.get(head.name) ?? [];
    return { ...head, declarations: decls, syntax: syntaxOf(head.name, decls) };
  });
  return { root, files };
}

function wrap(err: unknown, file?: string): Error {
  const text = err instanceof Error ? err.message : String(err);
  if (err instanceof Error && err.name === "MetadataError") return err;
  // protobufjs names the file in its syntax errors but not in its resolution errors.
  return protoError(file && !text.includes(file) ? `file "${file}": ${text}` : text, err);
}

/** Top-level declarations grouped by the file that declared them (package namespaces are walked through). */
function declarationsByFile(root: protobuf.Root): Map<string, protobuf.ReflectionObject[]> {
  const out = new Map<string, protobuf.ReflectionObject[]>();
  const walk = (ns: protobuf.NamespaceBase) => {
    for (const obj of ns.nestedArray) {
      const declared =
        obj instanceof protobuf.Type ||
        obj instanceof protobuf.Enum ||
        obj instanceof protobuf.Service ||
        obj instanceof protobuf.Field;
      if (declared) {
        if (obj.filename) out.set(obj.filename, [...(out.get(obj.filename) ?? []), obj]);
      } else if (obj instanceof protobuf.Namespace) {
        walk(obj);
      }
    }
  };
  walk(root);
  return out;
}

function syntaxOf(file: string, declarations: readonly protobuf.ReflectionObject[]): Syntax {
  // protobufjs tags each top-level declaration with the file's syntax or edition.
  const edition = (declarations[0] as { _edition?: string } | undefined)?._edition ?? "proto3";
  if (edition === "proto2" || edition === "proto3") return edition;
  throw protoError(`file "${file}" uses edition "${edition}"; only syntax "proto2" and "proto3" are supported`);
}
