// Property tests of what the daemon reads from IPFS and the Registry (metadata/model.ts, cid.ts, ipfs.ts):
// organization and service documents, metadata URIs, and content verified against its CID, including a
// hostile DAG. Anything malformed ends in a MetadataError with its reason, in bounded time.
import { describe, expect, test } from "bun:test";
import * as dagPb from "@ipld/dag-pb";
import { sha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { UnixFS } from "ipfs-unixfs";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { Code, MetadataError } from "../../src/core/errors.ts";
import {
  assembleDag,
  cidOfContent,
  MAX_DAG_BLOCKS,
  verifyContent,
  verifyContentWithBlocks,
} from "../../src/metadata/cid.ts";
import { parseContentUri } from "../../src/metadata/ipfs.ts";
import { parseJsonLossless, parseOrgMetadata, parseServiceMetadata } from "../../src/metadata/model.ts";
import { orgMetadata, serviceMetadata } from "../metadata/fixtures.ts";
import { check, nastyBytes, nastyString, refusedWith } from "./fuzz-kit.ts";

/** A JSON value where a document field is expected: anything JSON can hold, nested a little. */
/** JSON with bigints as exact integer literals (JSON.rawJSON is in Bun, not yet in TypeScript's lib). */
const rawJson = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;
const jsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
  nastyString(),
  fc.constantFrom(null, true, -1, 0.5, 1e308, []),
);

/** Replaces the value at a random path of `doc` with `value`. */
function mutate(doc: unknown, path: number[], value: unknown): unknown {
  if (path.length === 0 || doc === null || typeof doc !== "object") return value;
  const keys = Object.keys(doc);
  if (keys.length === 0) return value;
  const key = keys[(path[0] as number) % keys.length] as string;
  const copy = (Array.isArray(doc) ? [...doc] : { ...doc }) as Record<string, unknown>;
  copy[key] = mutate((doc as Record<string, unknown>)[key], path.slice(1), value);
  return copy;
}

const stringify = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? rawJson(x.toString()) : x));
const FAILED_PRECONDITION = Code.FAILED_PRECONDITION;

describe("metadata documents", () => {
  test("a document with any field replaced is parsed or refused as an invalid document", async () => {
    await check(
      fc.asyncProperty(fc.boolean(), fc.array(fc.nat(), { maxLength: 6 }), jsonValue, async (isOrg, path, value) => {
        const text = stringify(mutate(isOrg ? orgMetadata() : serviceMetadata(), path, value));
        const parse = isOrg ? parseOrgMetadata : parseServiceMetadata;
        await refusedWith(FAILED_PRECONDITION, () => parse(text), "invalid-document");
      }),
      2000,
    );
  });

  test("regression: a section where a number belongs is an invalid document, not 'JSON.stringify cannot serialize BigInt'", async () => {
    const text = stringify(orgMetadata()).replace(
      '"payment_expiration_threshold":100',
      '"payment_expiration_threshold":{"":0}',
    );
    expect(text).toContain('"payment_expiration_threshold":{"":0}');
    await refusedWith(FAILED_PRECONDITION, () => parseOrgMetadata(text), "invalid-document");
    expect(() => parseOrgMetadata(text)).toThrow(
      'groups[0].payment.payment_expiration_threshold: expected a non-negative integer, got {"":0}',
    );
  });

  test("bytes that are not a JSON document (not UTF-8, truncated, deeply nested) are an invalid document", async () => {
    const text = fc.oneof(
      nastyBytes(),
      fc.nat({ max: 200 }).map((n) => new TextEncoder().encode(stringify(serviceMetadata()).slice(0, n))),
      fc.integer({ min: 1000, max: 200_000 }).map((n) => new TextEncoder().encode(`${"[".repeat(n)}${"]".repeat(n)}`)),
      fc
        .integer({ min: 1000, max: 100_000 })
        .map((n) => new TextEncoder().encode(`{"groups":${'{"a":'.repeat(n)}1${"}".repeat(n)}}`)),
    );
    await check(
      fc.asyncProperty(text, fc.boolean(), async (bytes, isOrg) => {
        await refusedWith(
          FAILED_PRECONDITION,
          () => (isOrg ? parseOrgMetadata(bytes) : parseServiceMetadata(bytes)),
          "invalid-document",
        );
      }),
      300,
    );
  });

  test("integer literals of any size are read exactly, never through a double", async () => {
    await check(
      fc.property(fc.bigInt({ min: -(2n ** 512n), max: 2n ** 512n }), (n) => {
        expect(parseJsonLossless(`{"price_in_cogs":${n}}`)).toEqual({ price_in_cogs: n });
      }),
      500,
    );
  });
});

describe("metadata URIs and CIDs", () => {
  test("any URI text parses to a scheme and a CID, or is refused as a bad URI", async () => {
    const uri = fc.oneof(
      nastyString(),
      nastyString().map((s) => `ipfs://${s}`),
      nastyString().map((s) => `filecoin://Qm${s}`),
    );
    await check(
      fc.asyncProperty(uri, async (text) => {
        const parsed = await refusedWith(FAILED_PRECONDITION, () => parseContentUri(text), "bad-uri");
        if (parsed) expect(() => CID.parse(parsed.cid)).not.toThrow();
      }),
      2000,
    );
  });

  test("content verifies against its own CID and against no other", async () => {
    await check(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 600 }), async (content, other) => {
        const cid = cidOfContent(content);
        verifyContent(cid, content);
        if (!Buffer.from(content).equals(Buffer.from(other))) {
          await refusedWith(FAILED_PRECONDITION, () => verifyContent(cid, other), "content-mismatch");
        }
      }),
      300,
    );
  });
});

/** A dag-pb block storing a UnixFS file node with `data` and `links`; returns its CID. */
function putNode(blocks: Map<string, Uint8Array>, data: Uint8Array | undefined, links: CID[]): CID {
  const node = new UnixFS({ type: "file", ...(data ? { data } : {}) });
  const block = dagPb.encode(
    dagPb.prepare({ Data: node.marshal(), Links: links.map((Hash) => ({ Hash, Name: "", Tsize: 0 })) }),
  );
  const cid = CID.createV0(Digest.create(0x12, sha256(block)));
  blocks.set(cid.toString(), block);
  return cid;
}

/** A DAG of `levels` levels whose every node links `fanout` times to the one node below (a "diamond bomb"). */
function diamondDag(levels: number, fanout: number, leafData?: Uint8Array) {
  const blocks = new Map<string, Uint8Array>();
  let cid = putNode(blocks, leafData, []);
  for (let i = 0; i < levels; i++) cid = putNode(blocks, undefined, Array(fanout).fill(cid));
  let fetched = 0;
  const fetchBlock = async (c: string) => {
    fetched++;
    const b = blocks.get(c);
    if (!b) throw new Error(`no block ${c}`);
    return b;
  };
  return { root: cid.toString(), fetchBlock, fetched: () => fetched };
}

describe("a hostile DAG behind a metadata CID", () => {
  test("regression: a DAG that links to one empty block over and over is refused after a bounded number of fetches", async () => {
    const dag = diamondDag(10, 100);
    await expect(assembleDag(dag.root, dag.fetchBlock, 1 << 20)).rejects.toThrow(/blocks/);
    expect(dag.fetched()).toBeLessThanOrEqual(MAX_DAG_BLOCKS);
  });

  test("diamond DAGs of any shape end in a content mismatch, never a hang", async () => {
    await check(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 40 }),
        fc.option(fc.uint8Array({ maxLength: 8 })),
        async (levels, fanout, leaf) => {
          const dag = diamondDag(levels, fanout, leaf ?? undefined);
          await refusedWith(
            FAILED_PRECONDITION,
            () => verifyContentWithBlocks(dag.root, new Uint8Array([1, 2, 3]), dag.fetchBlock),
            "content-mismatch",
          );
          expect(dag.fetched()).toBeLessThanOrEqual(MAX_DAG_BLOCKS);
        },
      ),
      12,
    );
  });

  test("MetadataError is what the verification throws for garbage CIDs", async () => {
    await check(
      fc.asyncProperty(nastyString(), nastyBytes(), async (cid, content) => {
        try {
          await verifyContentWithBlocks(cid, content, async () => new Uint8Array());
        } catch (err) {
          expect(err).toBeInstanceOf(MetadataError);
        }
      }),
      500,
    );
  });
});
