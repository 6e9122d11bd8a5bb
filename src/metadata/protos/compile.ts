/**
 * Compiles a service's .proto files (from its verified archive, or `service_proto_dir`) into
 * @bufbuild/protobuf descriptors: protobufjs parses, @bufbuild/protobuf holds the registry that the JSON
 * mapping and the binary codec use. Imports resolve against the archive's entry names exactly, plus the
 * standard files (standard-files.ts) — as the reference's compiler does (protocol/upstreams.md#proto-files).
 *
 * @example
 *   const protos = compileProtos({ "calc.proto": text });
 *   const found = findMethod(protos, "/example.Calculator/add");
 */
import { create, createFileRegistry, type DescFile, type FileRegistry, toBinary } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { type FileDescriptorProto, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { fileDescriptor } from "./descriptors.ts";
import { protoError } from "./errors.ts";
import { applyMethodOptions } from "./method-options.ts";
import { type ParsedFile, parseProtos } from "./parse.ts";
import { standardFiles } from "./standard-files.ts";

export interface CompiledProtos {
  /** Every message, enum, service and extension: the service's files and the standard ones. */
  readonly registry: FileRegistry;
  /** The service's own files (standard files excluded), in name order. */
  readonly files: readonly DescFile[];
  /** Service files that were replaced by the daemon's standard copy of the same name (worth a start-up note). */
  readonly replaced: readonly string[];
}

/** Compiles `sources` (entry name → text); throws a MetadataError `failed to compile proto files: …`. */
export function compileProtos(sources: Readonly<Record<string, string>>): CompiledProtos {
  const standard = standardFiles(Object.keys(sources));
  const standardNames = new Map(standard.files.map((f) => [f.proto.name, f]));
  const own = new Map(
    Object.keys(sources)
      .filter((name) => !standardNames.has(name))
      .sort()
      .map((name) => [name, sources[name] as string]),
  );
  const standardSet = toBinary(
    FileDescriptorSetSchema,
    create(FileDescriptorSetSchema, { file: standard.files.map((f) => f.proto) }),
  );
  const parsed = parseProtos(own, standardSet, (name) => standardNames.has(name));

  const standardTypeFile = new Map<string, string>();
  for (const f of standard.files) for (const t of nestedTypes(f)) standardTypeFile.set(t.typeName, f.proto.name);
  const imports = new Map<string, readonly string[]>([
    ...standard.files.map((f): [string, string[]] => [f.proto.name, f.dependencies.map((d) => d.proto.name)]),
    ...parsed.files.map((f): [string, readonly string[]] => [f.name, f.imports]),
  ]);
  const visibleCache = new Map<string, Set<string>>();
  const visible = (file: string): Set<string> => {
    let seen = visibleCache.get(file);
    if (seen) return seen;
    seen = new Set<string>();
    const stack = [file];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(imports.get(next) ?? []));
    }
    visibleCache.set(file, seen);
    return seen;
  };
  const ctx = {
    fileOf: (obj: { filename: string | null; fullName: string }) =>
      obj.filename ?? standardTypeFile.get(obj.fullName.slice(1)),
    visible,
  };

  const protos = new Map(parsed.files.map((f) => [f.name, fileDescriptor(f, ctx)]));
  const ordered = dependencyOrder(parsed.files).map((f) => protos.get(f.name) as FileDescriptorProto);
  const build = () => {
    try {
      return createFileRegistry(
        create(FileDescriptorSetSchema, { file: [...standard.files.map((f) => f.proto), ...ordered] }),
      );
    } catch (err) {
      throw protoError((err as Error).message, err);
    }
  };
  // Option values need the extensions' descriptors, so the registry is built twice: once to resolve
  // them, once with the options in place.
  const withoutOptions = build();
  for (const file of parsed.files)
    applyMethodOptions(file, protos.get(file.name) as FileDescriptorProto, withoutOptions);
  const registry = build();
  const files = parsed.files.map((f) => registry.getFile(f.name) as DescFile);
  return { registry, files, replaced: standard.replaced };
}

/** Files with every import before its importer; an import cycle is an error. */
function dependencyOrder(files: readonly ParsedFile[]): ParsedFile[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const done = new Set<string>();
  const out: ParsedFile[] = [];
  const visit = (file: ParsedFile, path: readonly string[]) => {
    if (done.has(file.name)) return;
    if (path.includes(file.name))
      throw protoError(`import cycle: ${[...path, file.name].map((n) => `"${n}"`).join(" → ")}`);
    for (const dep of file.imports) {
      const next = byName.get(dep);
      if (next) visit(next, [...path, file.name]);
    }
    done.add(file.name);
    out.push(file);
  };
  for (const f of files) visit(f, []);
  return out;
}
