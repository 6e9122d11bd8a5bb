// Proto archive extraction (protocol/metadata.md#proto-archive) on archives built with nanotar.
import { describe, expect, test } from "bun:test";
import { createTar, createTarGzip, type TarFileInput } from "nanotar";
import { extractProtos } from "../../src/metadata/archive.ts";
import { reasonOf } from "./reason-of.ts";

const PROTO =
  'syntax = "proto3";\npackage example_service;\nservice Calculator { rpc add(Numbers) returns (Result) {} }\n';
const files: TarFileInput[] = [
  { name: "example_service.proto", data: PROTO },
  { name: "nested/" },
  { name: "nested/types.proto", data: 'syntax = "proto3";\n' },
  { name: "README.md", data: "not a proto" },
  { name: "./dotted.proto", data: "// dotted\n" },
];

/** Rewrites the type flag of entry `index` (0-based header order) and fixes the header checksum. */
function setType(tar: Uint8Array, index: number, flag: string): Uint8Array {
  const out = tar.slice();
  let offset = 0;
  for (let i = 0; i < index; i++) {
    const size = Number.parseInt(
      new TextDecoder().decode(out.subarray(offset + 124, offset + 136)).replace(/\0/g, ""),
      8,
    );
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  out[offset + 156] = flag.charCodeAt(0);
  out.fill(0x20, offset + 148, offset + 156);
  const sum = out.subarray(offset, offset + 512).reduce((a, b) => a + b, 0);
  out.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, "0")}\0 `), offset + 148);
  return out;
}

const expected = {
  "example_service.proto": PROTO,
  "nested/types.proto": 'syntax = "proto3";\n',
  "dotted.proto": "// dotted\n",
};

describe("extractProtos", () => {
  test(".tar (older snet-cli)", async () => {
    expect(await extractProtos(createTar(files))).toEqual(expected);
  });

  test(".tar.gz (snet-cli ≥ 3.0)", async () => {
    expect(await extractProtos(await createTarGzip(files))).toEqual(expected);
  });

  test("a view into a larger buffer is read from its own offset", async () => {
    const tar = createTar(files);
    const padded = new Uint8Array(tar.length + 100);
    padded.set(tar, 100);
    expect(await extractProtos(padded.subarray(100))).toEqual(expected);
  });

  test('".." and absolute paths are refused', async () => {
    const climbing = await reasonOf(extractProtos(createTar([{ name: "../evil.proto", data: "x" }])));
    expect(climbing).toStartWith("bad-archive: ");
    expect(climbing).toContain('"../evil.proto"');
    const deep = await reasonOf(extractProtos(createTar([{ name: "a/../../evil.proto", data: "x" }])));
    expect(deep).toContain("..");
    const absolute = await reasonOf(extractProtos(await createTarGzip([{ name: "/etc/evil.proto", data: "x" }])));
    expect(absolute).toContain("absolute path");
  });

  test("symlinks, hard links and devices are refused", async () => {
    const tar = createTar([
      { name: "ok.proto", data: "x" },
      { name: "link.proto", data: "" },
    ]);
    for (const [flag, kind] of [
      ["2", "symbolicLink"],
      ["1", "hardLink"],
      ["3", "characterDevice"],
      ["6", "fifo"],
    ] as const) {
      const reason = await reasonOf(extractProtos(setType(tar, 1, flag)));
      expect(reason).toStartWith("bad-archive: ");
      expect(reason).toContain(`"link.proto" is a ${kind}`);
    }
  });

  test("entry count and size caps", async () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}.proto`, data: "x" }));
    expect(await reasonOf(extractProtos(createTar(many), { maxEntries: 10 }))).toContain("more than 10 entries");
    expect(Object.keys(await extractProtos(createTar(many), { maxEntries: 11 }))).toHaveLength(11);
    const big = [{ name: "big.proto", data: "x".repeat(100_000) }];
    expect(await reasonOf(extractProtos(createTar(big), { maxBytes: 50_000 }))).toStartWith("bad-archive: ");
  });

  test("a gzip bomb stops at the cap while inflating", async () => {
    const bomb = await createTarGzip([{ name: "zeros.proto", data: new Uint8Array(8 * 1024 * 1024) }]);
    expect(bomb.length).toBeLessThan(100_000);
    expect(await reasonOf(extractProtos(bomb, { maxBytes: 1024 * 1024 }))).toContain("once decompressed");
  });

  test("corrupt gzip and truncated tar are refused", async () => {
    const gz = await createTarGzip(files);
    expect(await reasonOf(extractProtos(gz.subarray(0, 30)))).toStartWith("bad-archive: ");
    const tar = createTar([{ name: "a.proto", data: "x".repeat(2000) }]);
    expect(await reasonOf(extractProtos(tar.subarray(0, 1024)))).toStartWith("bad-archive: ");
  });
});
