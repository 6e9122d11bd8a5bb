// CIDs and content verification (protocol/metadata.md#cid-verification) against the vectors and known go-ipfs CIDs.
import { describe, expect, test } from "bun:test";
import * as dagPb from "@ipld/dag-pb";
import { sha256 } from "@noble/hashes/sha2.js";
import { UnixFS } from "ipfs-unixfs";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { MetadataError } from "../../src/core/errors.ts";
import { bytesToHex } from "../../src/core/numbers.ts";
import {
  assembleDag,
  buildFileDag,
  CHUNK_SIZE,
  cidOfContent,
  unixFsLeafBlock,
  verifyContent,
  verifyContentWithBlocks,
} from "../../src/metadata/cid.ts";
import vectors from "../vectors/signatures.json" with { type: "json" };

const utf8 = (s: string) => new TextEncoder().encode(s);
const rawV0 = (content: Uint8Array) => CID.createV0(Digest.create(0x12, sha256(content))).toString();
const reasonOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof MetadataError ? err.reason : `not a MetadataError: ${String(err)}`;
  }
  return "no error";
};

describe("cidOfContent", () => {
  for (const v of vectors.encodings.cidv0) {
    test(`real CIDv0 of ${JSON.stringify(v.content_text)}`, () => {
      const content = utf8(v.content_text);
      expect(cidOfContent(content)).toBe(v.cidv0_real);
      expect(bytesToHex(unixFsLeafBlock(content))).toBe(v.dag_pb_block_hex);
      expect(rawV0(content)).toBe(v.cidv0_raw_sha256_mock);
    });
  }

  test("the known CIDs of protocol/metadata.md#cid-verification", () => {
    expect(cidOfContent(utf8(""))).toBe("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
    expect(cidOfContent(utf8("hello world\n"))).toBe("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
  });

  test("a file of exactly one chunk is a single leaf, one byte more gives a root with two links", () => {
    const one = new Uint8Array(CHUNK_SIZE).fill(7);
    expect(buildFileDag(one).blocks.size).toBe(1);
    const two = new Uint8Array(CHUNK_SIZE + 1).fill(7);
    const dag = buildFileDag(two);
    const root = dagPb.decode(dag.blocks.get(dag.root.toString()) as Uint8Array);
    expect(root.Links.map((l) => l.Name)).toEqual(["", ""]);
    const fs = UnixFS.unmarshal(root.Data as Uint8Array);
    expect(fs.blockSizes).toEqual([BigInt(CHUNK_SIZE), 1n]);
    expect(fs.fileSize()).toBe(BigInt(CHUNK_SIZE + 1));
    // Tsize = size of the leaf block (its UnixFS framing included), as go-ipfs writes it.
    const leafBlock = dag.blocks.get(root.Links[1]?.Hash.toString() ?? "") as Uint8Array;
    expect(root.Links[1]?.Tsize).toBe(leafBlock.length);
  });

  test("more than 174 chunks add a level", () => {
    // 175 chunks of zeros: every leaf but the last is the same block, so this stays cheap.
    const content = new Uint8Array(174 * CHUNK_SIZE + 10);
    const dag = buildFileDag(content);
    const root = dagPb.decode(dag.blocks.get(dag.root.toString()) as Uint8Array);
    expect(root.Links.length).toBe(2);
    const first = dagPb.decode(dag.blocks.get(root.Links[0]?.Hash.toString() ?? "") as Uint8Array);
    const second = dagPb.decode(dag.blocks.get(root.Links[1]?.Hash.toString() ?? "") as Uint8Array);
    expect([first.Links.length, second.Links.length]).toEqual([174, 1]);
    verifyContent(dag.root.toString(), content);
  });
});

describe("verifyContent", () => {
  const hello = utf8("hello world\n");

  test("accepts real UnixFS CIDv0, raw-digest CIDv0, CIDv1 raw and CIDv1 dag-pb", () => {
    verifyContent("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", hello);
    verifyContent("QmZjTnYw2TFhn9Nn7tjmPSoTBoY7YRkwPzwSrSbabY24Kp", hello);
    verifyContent("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4", hello);
    verifyContent(CID.parse("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o").toV1().toString(), hello);
  });

  test("accepts a multi-chunk go-ipfs DAG by recomputing it", () => {
    const big = new Uint8Array(3 * CHUNK_SIZE + 5).map((_, i) => i % 251);
    verifyContent(cidOfContent(big), big);
  });

  test("refuses other content, naming the CID", () => {
    const tampered = utf8("hello world!");
    for (const cid of [
      "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
      "QmZjTnYw2TFhn9Nn7tjmPSoTBoY7YRkwPzwSrSbabY24Kp",
      "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
    ]) {
      expect(reasonOf(() => verifyContent(cid, tampered))).toBe("content-mismatch");
      expect(() => verifyContent(cid, tampered)).toThrow(`CID "${cid}"`);
    }
    const big = new Uint8Array(CHUNK_SIZE + 5);
    const cid = cidOfContent(big);
    big[CHUNK_SIZE + 1] = 1;
    expect(reasonOf(() => verifyContent(cid, big))).toBe("content-mismatch");
  });

  test("a raw CIDv1 does not accept the UnixFS framing of its content", () => {
    expect(
      reasonOf(() =>
        verifyContent("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4", unixFsLeafBlock(hello)),
      ),
    ).toBe("content-mismatch");
  });

  test("refuses what is not a CID, and unsupported hashes and codecs", () => {
    expect(reasonOf(() => verifyContent("not-a-cid", hello))).toBe("bad-uri");
    const identity = CID.createV1(0x55, Digest.create(0x00, hello)).toString();
    expect(reasonOf(() => verifyContent(identity, hello))).toBe("unsupported-cid");
    const dagCbor = CID.createV1(0x71, Digest.create(0x12, sha256(hello))).toString();
    expect(reasonOf(() => verifyContent(dagCbor, hello))).toBe("unsupported-cid");
  });
});

describe("verifyContentWithBlocks", () => {
  // A DAG go-ipfs defaults would not build (raw leaves, 4-byte chunks), so only the block walk can verify it.
  const content = utf8("hello world\nsecond line\n");
  const blocks = new Map<string, Uint8Array>();
  const leaves: Array<{ cid: CID; size: number }> = [];
  for (let i = 0; i < content.length; i += 4) {
    const chunk = content.slice(i, i + 4);
    const cid = CID.createV1(0x55, Digest.create(0x12, sha256(chunk)));
    blocks.set(cid.toString(), chunk);
    leaves.push({ cid, size: chunk.length });
  }
  const rootBlock = dagPb.encode({
    Data: new UnixFS({ type: "file", blockSizes: leaves.map((l) => BigInt(l.size)) }).marshal(),
    Links: leaves.map((l) => ({ Hash: l.cid, Name: "", Tsize: l.size })),
  });
  const root = CID.createV1(0x70, Digest.create(0x12, sha256(rootBlock)));
  blocks.set(root.toString(), rootBlock);
  const fetchBlock = async (cid: string) => {
    const block = blocks.get(cid);
    if (!block) throw new Error(`no block ${cid}`);
    return block;
  };

  test("recomputation alone refuses it", () => {
    expect(reasonOf(() => verifyContent(root.toString(), content))).toBe("content-mismatch");
  });

  test("walking the verified blocks accepts it", async () => {
    await verifyContentWithBlocks(root.toString(), content, fetchBlock);
    expect(await assembleDag(root.toString(), fetchBlock, 1000)).toEqual(content);
  });

  test("refuses content that differs from the DAG", async () => {
    const other = utf8("hello world\nsecond lime\n");
    await expect(verifyContentWithBlocks(root.toString(), other, fetchBlock)).rejects.toThrow(
      "its DAG holds other bytes",
    );
  });

  test("refuses a block that does not hash to its link", async () => {
    const firstLeaf = leaves[0]?.cid.toString() ?? "";
    const lying = async (cid: string) => (cid === firstLeaf ? utf8("HELL") : fetchBlock(cid));
    await expect(verifyContentWithBlocks(root.toString(), content, lying)).rejects.toThrow(
      `block "${firstLeaf}" does not hash to its CID`,
    );
  });

  test("assembleDag stops at the size cap", async () => {
    await expect(assembleDag(root.toString(), fetchBlock, 10)).rejects.toThrow("more than 10 bytes");
  });
});
