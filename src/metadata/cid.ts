/**
 * Content identifiers: the go-ipfs CIDv0 of a file, and verification of fetched bytes against a CID
 * (protocol/metadata.md#cid-verification). The reference daemon's check rebuilt the CID from itself and so never failed
 * (protocol/reference-differences.md#d11); here every document and archive must hash to the CID it was fetched by.
 *
 * Blocks are built with `@ipld/dag-pb` and `ipfs-unixfs`, never by hand, so the bytes are the ones
 * go-ipfs writes for `ipfs add` with its defaults (CIDv0, 262144-byte chunks, balanced layout, no raw
 * leaves).
 */
import * as dagPb from "@ipld/dag-pb";
import { sha256 } from "@noble/hashes/sha2.js";
import { UnixFS } from "ipfs-unixfs";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { MetadataError } from "../core/errors.ts";
import { bytesEqual, concatBytes } from "../core/numbers.ts";

/** go-ipfs default chunker `size-262144`. */
export const CHUNK_SIZE = 262144;
/** go-ipfs balanced layout: links per node for 256 KiB chunks (helpers.DefaultLinksPerBlock). */
const LINKS_PER_NODE = 174;
const SHA2_256 = 0x12;
const RAW = 0x55;
const DAG_PB = 0x70;

export function parseCid(text: string): CID {
  try {
    return CID.parse(text);
  } catch (err) {
    throw new MetadataError("bad-uri", `"${text}" is not a CID: ${(err as Error).message}`, { cause: err });
  }
}

interface DagNode {
  cid: CID;
  /** Bytes of file content below this node. */
  fileSize: number;
  /** Cumulative size go-ipfs writes into links: this block plus every block below it. */
  tsize: number;
}

/** Every block of a file DAG, keyed by CID text, plus its root. */
export interface FileDag {
  root: CID;
  blocks: Map<string, Uint8Array>;
}

function putBlock(blocks: Map<string, Uint8Array>, block: Uint8Array): CID {
  const cid = CID.createV0(Digest.create(SHA2_256, sha256(block)));
  blocks.set(cid.toString(), block);
  return cid;
}

/** The UnixFS file node go-ipfs writes for a chunk of at most CHUNK_SIZE bytes. */
export function unixFsLeafBlock(chunk: Uint8Array): Uint8Array {
  return dagPb.encode(dagPb.prepare({ Data: new UnixFS({ type: "file", data: chunk }).marshal() }));
}

/**
 * The DAG `ipfs add` (go-ipfs defaults) builds for `content`: one leaf per 262144-byte chunk, grouped
 * 174 to a parent level by level (the balanced layout puts every leaf at the same depth, which equals
 * grouping bottom-up). A file of one chunk is a single leaf.
 */
export function buildFileDag(content: Uint8Array): FileDag {
  const blocks = new Map<string, Uint8Array>();
  let level: DagNode[] = [];
  for (let offset = 0; offset === 0 || offset < content.length; offset += CHUNK_SIZE) {
    const chunk = content.subarray(offset, offset + CHUNK_SIZE);
    const block = unixFsLeafBlock(chunk);
    level.push({ cid: putBlock(blocks, block), fileSize: chunk.length, tsize: block.length });
  }
  while (level.length > 1) {
    const parents: DagNode[] = [];
    for (let i = 0; i < level.length; i += LINKS_PER_NODE) {
      const children = level.slice(i, i + LINKS_PER_NODE);
      const data = new UnixFS({ type: "file", blockSizes: children.map((c) => BigInt(c.fileSize)) }).marshal();
      const block = dagPb.encode({
        Data: data,
        Links: children.map((c) => ({ Hash: c.cid, Name: "", Tsize: c.tsize })),
      });
      parents.push({
        cid: putBlock(blocks, block),
        fileSize: children.reduce((n, c) => n + c.fileSize, 0),
        tsize: children.reduce((n, c) => n + c.tsize, block.length),
      });
    }
    level = parents;
  }
  const root = level[0];
  if (!root) throw new Error("unreachable: a file DAG always has a root");
  return { root: root.cid, blocks };
}

/**
 * The CIDv0 `ipfs add` prints for `content`, e.g. `"hello world\n"` →
 * `QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o`.
 */
export function cidOfContent(content: Uint8Array): string {
  return buildFileDag(content).root.toString();
}

function sha256Cid(text: string): CID {
  const cid = parseCid(text);
  if (cid.multihash.code !== SHA2_256) {
    throw new MetadataError(
      "unsupported-cid",
      `CID "${text}" uses multihash 0x${cid.multihash.code.toString(16)}, only sha2-256 (0x12) is supported`,
    );
  }
  if (cid.code !== RAW && cid.code !== DAG_PB) {
    throw new MetadataError(
      "unsupported-cid",
      `CID "${text}" has codec 0x${cid.code.toString(16)}, expected raw (0x55) or dag-pb (0x70)`,
    );
  }
  return cid;
}

/**
 * Accepts `content` iff it is what `cid` names (protocol/metadata.md#cid-verification): raw codec →
 * sha256(content); dag-pb → (a) the go-ipfs UnixFS file DAG of the content, or (b) the raw-digest convention
 * of test mocks (sha256(content) is the digest). Throws MetadataError "content-mismatch" otherwise.
 *
 * @example verifyContent("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", utf8("hello world\n"))
 */
export function verifyContent(cidText: string, content: Uint8Array): void {
  const cid = sha256Cid(cidText);
  const expected = cid.multihash.digest;
  if (bytesEqual(sha256(content), expected)) return;
  if (cid.code === DAG_PB) {
    if (content.length <= CHUNK_SIZE) {
      if (bytesEqual(sha256(unixFsLeafBlock(content)), expected)) return;
    } else if (bytesEqual(buildFileDag(content).root.multihash.digest, expected)) {
      return;
    }
  }
  throw mismatch(cidText, content.length, "");
}

function mismatch(cidText: string, length: number, detail: string): MetadataError {
  return new MetadataError(
    "content-mismatch",
    `content fetched for CID "${cidText}" (${length} bytes) does not match the CID${detail}`,
  );
}

export type FetchBlock = (cid: string) => Promise<Uint8Array>;

/**
 * Like verifyContent, but when the content is not a go-ipfs default DAG (other chunker, raw leaves,
 * trickle layout) walks the DAG block by block: each block must hash to its link, and the UnixFS data of
 * the leaves, in order, must equal `content`.
 */
export async function verifyContentWithBlocks(
  cidText: string,
  content: Uint8Array,
  fetchBlock: FetchBlock,
): Promise<void> {
  try {
    verifyContent(cidText, content);
    return;
  } catch (err) {
    if (!(err instanceof MetadataError) || err.reason !== "content-mismatch") throw err;
    if (parseCid(cidText).code !== DAG_PB) throw err;
  }
  let assembled: Uint8Array;
  try {
    assembled = await assembleDag(cidText, fetchBlock, content.length);
  } catch (err) {
    throw mismatch(
      cidText,
      content.length,
      `, nor could its DAG be checked block by block (${(err as Error).message})`,
    );
  }
  if (!bytesEqual(assembled, content)) throw mismatch(cidText, content.length, ", its DAG holds other bytes");
}

/** Depth bound for DAG walks; a 2^64-byte file in 256 KiB chunks with 174 links per node is depth 7. */
const MAX_DAG_DEPTH = 32;
/**
 * Block bound for DAG walks (each block is one request to the IPFS node): a 1 MiB document in 256-byte
 * chunks, a 16 MiB archive in 4 KiB chunks; go-ipfs defaults need 64 for 16 MiB. Without it a DAG whose
 * nodes link to one empty block again and again (fanout^depth visits, no bytes to count) kept the walk
 * fetching forever.
 */
export const MAX_DAG_BLOCKS = 4096;

/**
 * Rebuilds file content from verified blocks: links (field 2) before data (field 1) in dag-pb, the
 * node's own UnixFS data before its children's. Refuses more than `maxBytes` of content.
 */
export async function assembleDag(cidText: string, fetchBlock: FetchBlock, maxBytes: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const take = (data: Uint8Array | undefined): void => {
    if (!data || data.length === 0) return;
    total += data.length;
    if (total > maxBytes) throw new Error(`DAG holds more than ${maxBytes} bytes`);
    parts.push(data);
  };
  let visited = 0;
  const visit = async (cid: CID, depth: number): Promise<void> => {
    if (depth > MAX_DAG_DEPTH) throw new Error(`DAG deeper than ${MAX_DAG_DEPTH} levels`);
    if (++visited > MAX_DAG_BLOCKS) throw new Error(`DAG has more than ${MAX_DAG_BLOCKS} blocks`);
    const text = cid.toString();
    sha256Cid(text);
    const block = await fetchBlock(text);
    if (!bytesEqual(sha256(block), cid.multihash.digest)) throw new Error(`block "${text}" does not hash to its CID`);
    if (cid.code === RAW) return take(block);
    const node = dagPb.decode(block);
    if (!node.Data) throw new Error(`block "${text}" has no UnixFS data`);
    const fs = UnixFS.unmarshal(node.Data);
    if (fs.type !== "file" && fs.type !== "raw") throw new Error(`block "${text}" is a UnixFS ${fs.type}, not a file`);
    take(fs.data);
    for (const link of node.Links) await visit(link.Hash, depth + 1);
  };
  await visit(parseCid(cidText), 0);
  return concatBytes(...parts);
}
