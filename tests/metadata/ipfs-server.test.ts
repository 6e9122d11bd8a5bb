// The test IPFS server speaks the Kubo API subset of protocol/metadata.md#test-ipfs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as dagPb from "@ipld/dag-pb";
import { sha256 } from "@noble/hashes/sha2.js";
import { CID } from "multiformats/cid";
import { bytesToHex } from "../../src/core/numbers.ts";
import { type IpfsServer, startIpfsServer } from "../kit/ipfs-server.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const bytes = async (r: Response) => new Uint8Array(await r.arrayBuffer());

describe("test IPFS server", () => {
  let ipfs: IpfsServer;
  beforeAll(async () => {
    ipfs = await startIpfsServer();
  });
  afterAll(() => ipfs.stop());

  test("url and multiaddr name the same port", () => {
    const port = new URL(ipfs.url).port;
    expect(ipfs.url).toBe(`http://127.0.0.1:${port}`);
    expect(ipfs.multiaddr).toBe(`/ip4/127.0.0.1/tcp/${port}/http`);
  });

  test("version answers GET and POST with a version ipfshttpclient 0.4.13 accepts", async () => {
    for (const method of ["GET", "POST"]) {
      const r = await fetch(`${ipfs.url}/api/v0/version`, { method });
      expect(r.status).toBe(200);
      expect((await r.json()).Version).toBe("0.4.23");
    }
  });

  test("add (browser-style multipart) returns the go-ipfs CID and size", async () => {
    const form = new FormData();
    form.append("file", new Blob([utf8("hello world\n")]), "hello.txt");
    const r = await fetch(`${ipfs.url}/api/v0/add?pin=true&stream-channels=true`, { method: "POST", body: form });
    expect(r.status).toBe(200);
    const lines = (await r.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([{ Name: "hello.txt", Hash: "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", Size: "20" }]);
  });

  test("add (ipfshttpclient-style multipart) with wrap-with-directory", async () => {
    const boundary = "0bfd8e0ecd6f4fc7b2d0fca2b4d01b52";
    const part = (name: string, content: string) =>
      `--${boundary}\r\nContent-Disposition: file; filename="${encodeURIComponent(name)}"\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n${content}\r\n`;
    const body = `${part("a b.json", '{"version":1}')}${part("hello", "hello world\n")}--${boundary}--\r\n`;
    const r = await fetch(`${ipfs.url}/api/v0/add?wrap-with-directory=true&stream-channels=true`, {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      body,
    });
    const lines = (await r.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.Name, l.Hash])).toEqual([
      ["a b.json", "QmZQt76i99ncwewqJXxh2HBeGzD5HGZAx5wSdobP8CASKn"],
      ["hello", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"],
      ["", expect.stringMatching(/^Qm/)],
    ]);
    const dir = lines[2].Hash as string;
    const node = dagPb.decode(await bytes(await fetch(`${ipfs.url}/api/v0/block/get?arg=${dir}`, { method: "POST" })));
    expect(node.Links.map((l) => l.Name)).toEqual(["a b.json", "hello"]);
    const cat = await fetch(`${ipfs.url}/api/v0/cat?arg=${dir}/hello`, { method: "POST" });
    expect(await cat.text()).toBe("hello world\n");
    const catDir = await fetch(`${ipfs.url}/api/v0/cat?arg=${dir}`, { method: "POST" });
    expect(catDir.status).toBe(500);
  });

  test("add with cid-version=1 gives the raw CIDv1 Kubo gives", async () => {
    const form = new FormData();
    form.append("file", new Blob([utf8("hello world\n")]), "hello.txt");
    const r = await fetch(`${ipfs.url}/api/v0/add?cid-version=1`, { method: "POST", body: form });
    expect((await r.json()).Hash).toBe("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
  });

  test("cat by GET and POST; block/get returns the block whose sha256 is the CID digest", async () => {
    const content = utf8('{"org_id":"snet-test-org"}');
    const cid = await ipfs.add(content, "org.json");
    for (const method of ["GET", "POST"]) {
      const r = await fetch(`${ipfs.url}/api/v0/cat?arg=${cid}`, { method });
      expect(await bytes(r)).toEqual(content);
    }
    const block = await bytes(await fetch(`${ipfs.url}/api/v0/block/get?arg=${cid}`));
    // What ipfshttpclient checks: sha256(block) equals the digest inside the base58 CIDv0.
    expect(bytesToHex(sha256(block))).toBe(bytesToHex(CID.parse(cid).multihash.digest));
    // CIDv1 spelling of the same block.
    const v1 = CID.parse(cid).toV1().toString();
    expect(await bytes(await fetch(`${ipfs.url}/api/v0/cat?arg=${v1}`))).toEqual(content);
  });

  test("unknown CIDs: Kubo-like 500 JSON errors", async () => {
    const r = await fetch(`${ipfs.url}/api/v0/cat?arg=QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH`, {
      method: "POST",
    });
    expect(r.status).toBe(500);
    expect(await r.json()).toEqual({ Message: "merkledag: not found", Code: 0, Type: "error" });
    const bad = await fetch(`${ipfs.url}/api/v0/cat?arg=nonsense`, { method: "POST" });
    expect(bad.status).toBe(500);
    expect((await bad.json()).Type).toBe("error");
    const block = await fetch(`${ipfs.url}/api/v0/block/get?arg=QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH`);
    expect(block.status).toBe(500);
    expect((await fetch(`${ipfs.url}/api/v0/nope`)).status).toBe(404);
  });

  test("tamper changes what cat, the gateway and block/get serve", async () => {
    const cid = await ipfs.add(utf8("original"));
    ipfs.tamper(cid, utf8("forged"));
    expect(await (await fetch(`${ipfs.url}/api/v0/cat?arg=${cid}`, { method: "POST" })).text()).toBe("forged");
    expect(await (await fetch(`${ipfs.url}/ipfs/${cid}`)).text()).toBe("forged");
    const block = await bytes(await fetch(`${ipfs.url}/api/v0/block/get?arg=${cid}`));
    expect(bytesToHex(sha256(block))).not.toBe(bytesToHex(CID.parse(cid).multihash.digest));
  });
});
