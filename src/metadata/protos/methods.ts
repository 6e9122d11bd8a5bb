/**
 * Finding the method a gRPC path names. The reference looks a method up by its last path segment only,
 * across every service of every file, first match wins (protocol/upstreams.md#http-request) — with several
 * files that pick is random. Here the exact `/<package>.<Service>/<method>` match comes first; the
 * name-only search remains as a fallback (so `/anything.Else/do_it` still reaches `do_it`) but refuses
 * to guess between several methods of that name.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import type { CompiledProtos } from "./compile.ts";

/** A path split as the reference does: slashes trimmed at both ends, then service / method. */
export type GrpcPath =
  | { readonly ok: true; readonly service: string; readonly method: string }
  | { readonly ok: false; readonly trimmed: string; readonly extraSegments: boolean };

export function splitGrpcPath(path: string): GrpcPath {
  const trimmed = path.replace(/^\/+|\/+$/g, "");
  const slash = trimmed.indexOf("/");
  const service = slash === -1 ? "" : trimmed.slice(0, slash);
  const method = slash === -1 ? "" : trimmed.slice(slash + 1);
  if (service === "" || method === "") return { ok: false, trimmed, extraSegments: false };
  if (method.includes("/")) return { ok: false, trimmed, extraSegments: true };
  return { ok: true, service, method };
}

export type MethodLookup =
  | { readonly kind: "found"; readonly method: DescMethod /** false: found by name only */; readonly exact: boolean }
  | { readonly kind: "ambiguous"; readonly name: string; readonly candidates: readonly DescMethod[] }
  | { readonly kind: "not-found"; readonly name: string }
  | { readonly kind: "bad-path"; readonly trimmed: string; readonly extraSegments: boolean };

/** A lookup function over the service's own files (standard files excluded), memoised per path. */
export function methodFinder(protos: CompiledProtos): (path: string) => MethodLookup {
  const byPath = new Map<string, DescMethod>();
  const byName = new Map<string, DescMethod[]>();
  for (const file of protos.files) {
    for (const service of file.services) {
      for (const method of service.methods) {
        byPath.set(`${service.typeName}/${method.name}`, method);
        byName.set(method.name, [...(byName.get(method.name) ?? []), method]);
      }
    }
  }
  const cache = new Map<string, MethodLookup>();
  return (path) => {
    let found = cache.get(path);
    if (found) return found;
    found = lookup(path, byPath, byName);
    // Bounded: a client can send any number of distinct paths.
    if (cache.size < 10_000) cache.set(path, found);
    return found;
  };
}

function lookup(path: string, byPath: Map<string, DescMethod>, byName: Map<string, DescMethod[]>): MethodLookup {
  const parts = splitGrpcPath(path);
  if (!parts.ok) return { kind: "bad-path", trimmed: parts.trimmed, extraSegments: parts.extraSegments };
  const exact = byPath.get(`${parts.service}/${parts.method}`);
  if (exact) return { kind: "found", method: exact, exact: true };
  const named = byName.get(parts.method) ?? [];
  if (named.length === 1) return { kind: "found", method: named[0] as DescMethod, exact: false };
  if (named.length > 1) return { kind: "ambiguous", name: parts.method, candidates: named };
  return { kind: "not-found", name: parts.method };
}

/** `/<package>.<Service>/<method>` (`/<Service>/<method>` without a package). */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}
