// Property tests of the proto archive reader (metadata/archive.ts, protocol/metadata.md#proto-archive): whatever the IPFS node
// returns — random bytes, tar bombs, gzip bombs, huge entry counts, names that climb out with "..", absolute
// paths, links — extraction returns .proto texts or refuses with "bad-archive", within its limits.
import { describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { createTar, createTarGzip, type TarFileInput } from "nanotar";
import { Code } from "../../src/core/errors.ts";
import { extractProtos, MAX_ARCHIVE_ENTRIES } from "../../src/metadata/archive.ts";
import { check, refusedWith } from "./fuzz-kit.ts";

const FAILED_PRECONDITION = Code.FAILED_PRECONDITION;
const extract = (bytes: Uint8Array, limits = {}) =>
  refusedWith(FAILED_PRECONDITION, () => extractProtos(bytes, limits), "bad-archive");

/** Path segments, including the hostile ones. */
const segment = fc.oneof(
  fc.stringMatching(/^[a-z0-9_]{1,12}$/),
  fc.constantFrom("..", ".", "", "C:", "\\..", "a\\..\\.."),
);
const entryName = fc
  .tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 4 }), fc.constantFrom(".proto", ".md", "", "/"))
  .map(([absolute, parts, ext]) => `${absolute ? "/" : ""}${parts.join("/")}${ext}`);
const entry: fc.Arbitrary<TarFileInput> = fc
  .record({
    name: entryName,
    data: fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
    attrs: fc.option(fc.record({ mode: fc.constantFrom("644", "755", "4755") }), { nil: undefined }),
  })
  .map((e) => ({
    name: e.name,
    ...(e.data !== undefined ? { data: e.data } : {}),
    ...(e.attrs ? { attrs: e.attrs } : {}),
  }));

/** Sets the ustar type flag of the first header and fixes its checksum (links, devices, FIFOs…). */
function withType(tar: Uint8Array, flag: string): Uint8Array {
  const out = tar.slice();
  out[156] = flag.charCodeAt(0);
  out.fill(0x20, 148, 156);
  const sum = out.subarray(0, 512).reduce((a, b) => a + b, 0);
  out.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
  return out;
}

const unsafe = (name: string) =>
  /^[\\/]/.test(name) || /^[A-Za-z]:[\\/]/.test(name) || name.split(/[\\/]/).includes("..");
/** The name nanotar reports for a safe one: "/" separators, no empty or "." segments. */
const normalised = (name: string) =>
  name
    .split(/[\\/]/)
    .filter((p) => p !== "" && p !== ".")
    .join("/");

describe("proto archives", () => {
  test("random bytes, plain or gzipped, give proto texts or bad-archive", async () => {
    await check(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.boolean(), async (bytes, gz) => {
        const protos = await extract(gz ? gzipSync(bytes) : bytes);
        if (protos) for (const name of Object.keys(protos)) expect(name.endsWith(".proto")).toBe(true);
      }),
      1000,
    );
  });

  test("a corrupted real archive gives proto texts or bad-archive", async () => {
    await check(
      fc.asyncProperty(
        fc.array(entry, { maxLength: 5 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }),
        async (entries, flips) => {
          const tar = createTar(entries.filter((e) => !unsafe(e.name)));
          for (const [at, value] of flips) if (tar.length > 0) tar[at % tar.length] = value;
          await extract(tar);
        },
      ),
      1000,
    );
  });

  test("names that climb out or are absolute are refused; safe archives give back exactly their .proto files", async () => {
    await check(
      fc.asyncProperty(fc.array(entry, { maxLength: 6 }), fc.boolean(), async (entries, gz) => {
        // One entry per name (the last wins in a tar); an entry without data is a directory to nanotar, and
        // an empty name ends the archive (for our header walk too).
        const named = entries.slice(0, entries.findIndex((e) => e.name === "") >>> 0);
        const unique = [...new Map(named.map((e) => [normalised(e.name), e])).values()];
        const bytes = gz ? await createTarGzip(unique) : createTar(unique);
        const protos = await extract(bytes);
        const climbs = unique.some((e) => unsafe(e.name));
        if (climbs) {
          expect(protos).toBeUndefined();
          return;
        }
        const expected: Record<string, string> = {};
        for (const e of unique)
          if (e.name.endsWith(".proto") && e.data !== undefined) expected[normalised(e.name)] = String(e.data ?? "");
        expect(protos).toEqual(expected);
      }),
      800,
    );
  });

  test("regression: a name starting with a backslash is an absolute path (nanotar read \\etc\\x.proto as etc/x.proto)", async () => {
    expect(await extract(createTar([{ name: "\\etc\\x.proto", data: "syntax" }]))).toBeUndefined();
  });

  test("links, devices and FIFOs are refused whatever they are called", async () => {
    await check(
      fc.asyncProperty(
        fc.constantFrom("1", "2", "3", "4", "6"),
        fc.stringMatching(/^[a-z]{1,8}\.proto$/),
        async (flag, name) => {
          expect(await extract(withType(createTar([{ name, data: "syntax" }]), flag))).toBeUndefined();
        },
      ),
      100,
    );
  });

  test("tar bombs: more entries than the limit, or more bytes once inflated, are refused", async () => {
    await check(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 64 }),
        async (maxEntries, inflatedKiB) => {
          const many = createTar(Array.from({ length: maxEntries + 1 }, (_, i) => ({ name: `f${i}.proto`, data: "" })));
          expect(await extract(many, { maxEntries })).toBeUndefined();
          // A gzip bomb: a few hundred bytes that inflate past the limit.
          const bomb = gzipSync(new Uint8Array(inflatedKiB * 1024 + 1));
          expect(await extract(bomb, { maxBytes: inflatedKiB * 1024 })).toBeUndefined();
        },
      ),
      50,
    );
  });

  test("the default limits stop a 1 GiB gzip bomb and 100 000 empty entries quickly", async () => {
    const gib = gzipSync(new Uint8Array(64 * 1024 * 1024), { level: 9 });
    // 64 MiB of zeros repeated 16 times as gzip members: 1 GiB once inflated, ~1 MiB on the wire.
    const bomb = Buffer.concat(Array(16).fill(gib));
    expect(await extract(bomb)).toBeUndefined();
    const entries = createTar(Array.from({ length: MAX_ARCHIVE_ENTRIES * 100 }, (_, i) => ({ name: `d${i}/` })));
    expect(await extract(entries)).toBeUndefined();
  });
});
