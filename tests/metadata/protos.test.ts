/**
 * Compiling a service's .proto files (src/metadata/protos): imports, errors a provider can act on,
 * method lookup, the dynamic-pricing option in both syntaxes, and training detection.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getExtension } from "@bufbuild/protobuf";
import { createTarGzip } from "nanotar";
import { extractProtos } from "../../src/metadata/archive.ts";
import { compileProtos } from "../../src/metadata/protos/compile.ts";
import { dynamicPricing } from "../../src/metadata/protos/dynamic-pricing.ts";
import { methodFinder, methodPath } from "../../src/metadata/protos/methods.ts";
import { trainableMethods, trainingOptions } from "../../src/metadata/protos/training.ts";

const fixtures = join(import.meta.dir, "../upstreams/fixtures");
const kitchen = {
  "kitchen.proto": readFileSync(join(fixtures, "kitchen.proto"), "utf8"),
  "kitchen/parts.proto": readFileSync(join(fixtures, "kitchen/parts.proto"), "utf8"),
};
const pricingProto = readFileSync(join(import.meta.dir, "../../proto/pricing.proto"), "utf8");

function compileError(sources: Record<string, string>): string {
  try {
    compileProtos(sources);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected the compile to fail");
}

describe("compile", () => {
  test("a .tar.gz archive's files compile with imports resolved by entry name and well-known types available", async () => {
    const archive = await createTarGzip(Object.entries(kitchen).map(([name, data]) => ({ name, data })));
    const protos = compileProtos(await extractProtos(archive));
    expect(protos.files.map((f) => f.proto.name)).toEqual(["kitchen.proto", "kitchen/parts.proto"]);
    const everything = protos.registry.getMessage("kitchen.Everything");
    expect(everything?.field.ts?.message?.typeName).toBe("google.protobuf.Timestamp");
    expect(everything?.field.color?.enum?.typeName).toBe("parts.Color");
    expect(everything?.field.userName?.jsonName).toBe("userAlias");
    expect(everything?.field.m?.fieldKind).toBe("map");
    expect(everything?.field.opt?.proto.proto3Optional).toBe(true);
    expect(everything?.oneofs.map((o) => o.name)).toEqual(["choice"]);
  });

  test("an import that is not an entry name fails and names both files", () => {
    const text = compileError({
      "protos/a.proto": 'syntax = "proto3"; import "b.proto"; message A {}',
      "protos/b.proto": 'syntax = "proto3";',
    });
    expect(text).toBe(
      'failed to compile proto files: file "protos/a.proto" imports "b.proto", which is neither among the proto files nor a standard file',
    );
  });

  test("a syntax error names the file and the line", () => {
    const text = compileError({ "bad.proto": 'syntax = "proto3";\nmessage A {\n  strin g x = 1;\n}' });
    expect(text).toStartWith("failed to compile proto files: ");
    expect(text).toContain("bad.proto");
    expect(text).toContain("line 3");
  });

  test("a type used from a file that is not imported is refused", () => {
    const text = compileError({
      "a.proto": 'syntax = "proto3"; package a; message A { b.B inner = 1; }',
      "b.proto": 'syntax = "proto3"; package b; message B {}',
    });
    expect(text).toBe(
      'failed to compile proto files: file "a.proto": field "a.A.inner" uses "b.B" from "b.proto", which "a.proto" does not import',
    );
  });

  test("an unknown type and an import cycle are refused", () => {
    expect(compileError({ "a.proto": 'syntax = "proto3"; message A { Nope x = 1; }' })).toContain("Nope");
    const cycle = compileError({
      "a.proto": 'syntax = "proto3"; import "b.proto";',
      "b.proto": 'syntax = "proto3"; import "a.proto";',
    });
    expect(cycle).toBe('failed to compile proto files: import cycle: "a.proto" → "b.proto" → "a.proto"');
  });

  test("editions are refused with a clear message", () => {
    expect(compileError({ "e.proto": 'edition = "2023"; message A { string x = 1; }' })).toBe(
      'failed to compile proto files: file "e.proto" uses edition "2023"; only syntax "proto2" and "proto3" are supported',
    );
  });

  test("proto2 files keep required fields, defaults and closed enums", () => {
    const protos = compileProtos({
      "old.proto":
        'syntax = "proto2"; package old; enum E { A = 1; B = 2; } message M { required int32 id = 1; optional E e = 2 [default = B]; optional string s = 3 [default = "hi"]; }',
    });
    const m = protos.registry.getMessage("old.M");
    expect(m?.field.id?.proto.label).toBe(2); // LABEL_REQUIRED
    expect(m?.field.e?.proto.defaultValue).toBe("B");
    expect(m?.field.s?.proto.defaultValue).toBe("hi");
    expect(protos.registry.getEnum("old.E")?.open).toBe(false);
  });

  test("a provider's copy of a well-known file or training.proto is replaced by the standard one", () => {
    const protos = compileProtos({
      ...kitchen,
      "google/protobuf/timestamp.proto":
        'syntax = "proto3"; package google.protobuf; message Timestamp { int64 seconds = 1; }',
      "training.proto": 'syntax = "proto3"; package training; message ModelID { string model_id = 1; }',
    });
    expect(protos.replaced).toEqual(["google/protobuf/timestamp.proto", "training.proto"]);
    expect(protos.files.map((f) => f.proto.name)).toEqual(["kitchen.proto", "kitchen/parts.proto"]);
    expect(protos.registry.getMessage("training.ModelResponse")).toBeDefined();
  });
});

describe("method lookup", () => {
  const two = compileProtos({
    "a.proto":
      'syntax = "proto3"; package a; message M {} service S { rpc run(M) returns (M); rpc only_a(M) returns (M); }',
    "b.proto": 'syntax = "proto3"; package b; import "a.proto"; service T { rpc run(a.M) returns (a.M); }',
    "c.proto": 'syntax = "proto3"; import "a.proto"; service Bare { rpc go(a.M) returns (a.M); }',
  });
  const find = methodFinder(two);

  test("the exact path wins even when the name is defined twice", () => {
    const r = find("/b.T/run");
    expect(r.kind === "found" && methodPath(r.method)).toBe("/b.T/run");
    expect(r.kind === "found" && r.exact).toBe(true);
  });

  test("an unknown service falls back to the method name, as the reference does", () => {
    const r = find("/anything.Else/only_a");
    expect(r.kind === "found" && methodPath(r.method)).toBe("/a.S/only_a");
    expect(r.kind === "found" && r.exact).toBe(false);
  });

  test("a name defined by several services is reported as ambiguous, not guessed", () => {
    const r = find("/anything.Else/run");
    expect(r.kind).toBe("ambiguous");
    expect(r.kind === "ambiguous" && r.candidates.map(methodPath)).toEqual(["/a.S/run", "/b.T/run"]);
  });

  test("package-less services, unknown names and malformed paths", () => {
    const bare = find("/Bare/go");
    expect(bare.kind === "found" && bare.exact).toBe(true);
    expect(find("/a.S/nope")).toEqual({ kind: "not-found", name: "nope" });
    expect(find("/only-service")).toEqual({ kind: "bad-path", trimmed: "only-service", extraSegments: false });
    expect(find("/svc/")).toEqual({ kind: "bad-path", trimmed: "svc", extraSegments: false });
    expect(find("/svc/m1/m2")).toEqual({ kind: "bad-path", trimmed: "svc/m1/m2", extraSegments: true });
  });
});

describe("dynamic pricing option 9999127", () => {
  const service = (pkg: string, name: string) => `syntax = "proto3";
${pkg ? `package ${pkg};` : ""}
import "pricing.proto";
message In { string text = 1; }
service ${name} {
  rpc work(In) returns (In) { option (pricing.my_method_option).estimatePriceMethod = "/${pkg ? `${pkg}.` : ""}${name}/price"; }
  rpc aggregate(In) returns (In) { option (pricing.my_method_option) = { estimatePriceMethod: "/${pkg ? `${pkg}.` : ""}${name}/price" }; }
  rpc price(In) returns (pricing.PriceInCogs);
  rpc fixed(In) returns (In);
}`;

  test("both option syntaxes, every file merged, package-less services keyed /<Service>/<rpc>", () => {
    const protos = compileProtos({
      "pricing.proto": pricingProto,
      "calc.proto": service("calc", "Calc"),
      "bare.proto": service("", "Bare").replace("message In", "message BareIn").replaceAll("(In)", "(BareIn)"),
    });
    const { priceMethods, warnings } = dynamicPricing(protos);
    expect(Object.fromEntries(priceMethods)).toEqual({
      "/Bare/work": "/Bare/price",
      "/Bare/aggregate": "/Bare/price",
      "/calc.Calc/work": "/calc.Calc/price",
      "/calc.Calc/aggregate": "/calc.Calc/price",
    });
    expect(warnings).toEqual([]);
  });

  test("pricing.proto is supplied when the archive lacks it, and a wrong price method is a warning", () => {
    const text = service("calc", "Calc").replace(
      "rpc price(In) returns (pricing.PriceInCogs);",
      "rpc price(In) returns (In);",
    );
    const { priceMethods, warnings } = dynamicPricing(compileProtos({ "calc.proto": text }));
    expect(priceMethods.get("/calc.Calc/work")).toBe("/calc.Calc/price");
    expect(warnings).toContain('price method "/calc.Calc/price" returns "calc.In", expected "pricing.PriceInCogs"');
  });

  test("other method options (google.api.http from the archive) compile alongside", () => {
    const protos = compileProtos({
      "google/api/http.proto":
        'syntax = "proto3"; package google.api; message HttpRule { oneof pattern { string get = 2; string post = 4; } string body = 7; repeated HttpRule additional_bindings = 11; }',
      "google/api/annotations.proto":
        'syntax = "proto3"; package google.api; import "google/api/http.proto"; import "google/protobuf/descriptor.proto"; extend google.protobuf.MethodOptions { HttpRule http = 72295728; }',
      "svc.proto":
        'syntax = "proto3"; package svc; import "google/api/annotations.proto"; message M {} service S { rpc a(M) returns (M) { option (google.api.http) = { post: "/v1/a" body: "*" additional_bindings { get: "/v1/a" } }; } }',
    });
    const method = protos.registry.getService("svc.S")?.methods[0];
    const http = protos.registry.getExtension("google.api.http");
    const rule = method?.proto.options && http && getExtension(method.proto.options, http);
    expect(rule).toMatchObject({
      pattern: { case: "post", value: "/v1/a" },
      body: "*",
      additionalBindings: [{ pattern: { case: "get", value: "/v1/a" } }],
    });
    expect(dynamicPricing(protos).priceMethods.size).toBe(0);
  });

  test("an option naming no extension fails the compile", () => {
    const text = 'syntax = "proto3"; message M {} service S { rpc a(M) returns (M) { option (nope.x).y = "z"; } }';
    expect(compileError({ "s.proto": text })).toBe(
      'failed to compile proto files: file "s.proto": option (nope.x) of method "S.a" names no known extension',
    );
  });
});

describe("training", () => {
  const text = `syntax = "proto3";
package img;
import "training.proto";
message Req { string prompt = 1; training.ModelID model = 2; }
message Plain { string prompt = 1; }
service Gen {
  rpc draw(Req) returns (Plain) {
    option (training.default_model_id) = "base";
    option (training.max_models_per_user) = 3;
    option (training.dataset_type) = "zip";
  }
  rpc plain(Plain) returns (Plain);
}`;

  test("methods whose input has a training.ModelID field are trainable, with their options 50001-50008", () => {
    const protos = compileProtos({ "img.proto": text });
    const found = trainableMethods(protos);
    expect(found.map((m) => [m.serviceName, m.service, m.method])).toEqual([["Gen", "img.Gen", "draw"]]);
    const options = trainingOptions(found[0]?.desc as never);
    expect(options).toEqual({
      defaultModelId: "base",
      maxModelsPerUser: 3n,
      datasetMaxSizeMb: 0n,
      datasetMaxCountFiles: 0n,
      datasetMaxSizeSingleFileMb: 0n,
      datasetFilesType: "",
      datasetType: "zip",
      datasetDescription: "",
    });
  });

  test("a training option of the wrong type fails the compile, naming it", () => {
    const bad = text.replace(
      "option (training.max_models_per_user) = 3;",
      'option (training.max_models_per_user) = "many";',
    );
    expect(compileError({ "img.proto": bad })).toStartWith(
      'failed to compile proto files: file "img.proto": option (training.max_models_per_user) of method "img.Gen.draw" has a bad value: ',
    );
  });

  test("no ModelID field: no trainable method", () => {
    expect(trainableMethods(compileProtos(kitchen))).toEqual([]);
  });
});
