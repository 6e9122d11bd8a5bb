// fetchVerified against the real test IPFS server (tests/kit/ipfs-server.ts) and misbehaving HTTP servers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http from "node:http";
import type net from "node:net";
import { CHUNK_SIZE } from "../../src/metadata/cid.ts";
import { type FetchVerifiedOptions, fetchVerified, parseContentUri } from "../../src/metadata/ipfs.ts";
import { type IpfsServer, startIpfsServer } from "../kit/ipfs-server.ts";
import { freePort } from "../kit/ports.ts";
import { reasonOf } from "./reason-of.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A raw HTTP server whose behaviour each test chooses; every socket is destroyed on close. */
async function startRawServer(handler: http.RequestListener) {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  const server = http.createServer(handler);
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe("parseContentUri", () => {
  test("schemes, bare CIDs and on-chain NUL padding", () => {
    expect(parseContentUri("ipfs://QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o\0\0\0")).toEqual({
      scheme: "ipfs",
      cid: "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
    });
    expect(parseContentUri("filecoin://bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4").scheme).toBe(
      "filecoin",
    );
    expect(parseContentUri("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o").scheme).toBe("ipfs");
  });

  test("refuses anything else, naming the URI", () => {
    for (const uri of [
      "https://example.com/x.json",
      "ipfs://QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o/path",
      "ipfs://",
      "",
      "ipfs://QmNotReallyACid",
    ]) {
      expect(() => parseContentUri(uri)).toThrow(JSON.stringify(uri));
    }
  });
});

describe("fetchVerified through the test IPFS server", () => {
  let ipfs: IpfsServer;
  let opts: FetchVerifiedOptions;
  beforeAll(async () => {
    ipfs = await startIpfsServer();
    opts = { ipfsEndpoint: ipfs.url, lighthouseEndpoint: `${ipfs.url}/ipfs/`, timeoutMs: 10_000, maxBytes: 1 << 20 };
  });
  afterAll(() => ipfs.stop());

  test("ipfs:// URI, bare CID and NUL-padded on-chain form", async () => {
    const doc = utf8('{"version":1}');
    const cid = await ipfs.add(doc, "service_metadata.json");
    expect(cid).toBe("QmZQt76i99ncwewqJXxh2HBeGzD5HGZAx5wSdobP8CASKn");
    expect(await fetchVerified(`ipfs://${cid}`, opts)).toEqual(doc);
    expect(await fetchVerified(cid, opts)).toEqual(doc);
    expect(await fetchVerified(`ipfs://${cid}\0\0\0\0\0\0\0\0\0\0\0`, opts)).toEqual(doc);
  });

  test("filecoin:// through the gateway path", async () => {
    const doc = utf8("hello world\n");
    const cid = await ipfs.add(doc);
    expect(await fetchVerified(`filecoin://${cid}`, opts)).toEqual(doc);
    // Lighthouse prefix given without its trailing slash.
    expect(await fetchVerified(`filecoin://${cid}`, { ...opts, lighthouseEndpoint: `${ipfs.url}/ipfs` })).toEqual(doc);
  });

  test("multi-chunk content", async () => {
    const big = new Uint8Array(2 * CHUNK_SIZE + 17).map((_, i) => (i * 7) % 256);
    const cid = await ipfs.add(big);
    expect(await fetchVerified(`ipfs://${cid}`, opts)).toEqual(big);
  });

  test("tampered content is refused, naming the CID and the endpoint", async () => {
    const cid = await ipfs.add(utf8('{"org_id":"honest"}'));
    ipfs.tamper(cid, utf8('{"org_id":"evil"}'));
    const reason = await reasonOf(fetchVerified(`ipfs://${cid}`, opts));
    expect(reason).toStartWith("content-mismatch: ");
    expect(reason).toContain(cid);
    expect(reason).toContain(ipfs.url);
    expect(await reasonOf(fetchVerified(`filecoin://${cid}`, opts))).toStartWith("content-mismatch: ");
  });

  test("unknown CID: Kubo's 500 and the gateway's 404 become clear errors", async () => {
    const unknown = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH";
    const viaRpc = await reasonOf(fetchVerified(`ipfs://${unknown}`, opts));
    expect(viaRpc).toStartWith("http-status: ");
    expect(viaRpc).toContain("HTTP 500");
    expect(viaRpc).toContain("merkledag: not found");
    expect(viaRpc).toContain("ipfs_endpoint");
    const viaGateway = await reasonOf(fetchVerified(`filecoin://${unknown}`, opts));
    expect(viaGateway).toContain("HTTP 404");
    expect(viaGateway).toContain("lighthouse_endpoint");
  });

  test("content over the size cap is refused", async () => {
    const doc = new Uint8Array(5000).fill(65);
    const cid = await ipfs.add(doc);
    expect(await reasonOf(fetchVerified(`ipfs://${cid}`, { ...opts, maxBytes: 4999 }))).toStartWith("too-large: ");
    expect(await fetchVerified(`ipfs://${cid}`, { ...opts, maxBytes: 5000 })).toEqual(doc);
  });

  test("nothing listening: unreachable, naming the endpoint", async () => {
    const port = await freePort();
    const reason = await reasonOf(
      fetchVerified("ipfs://QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", {
        ...opts,
        ipfsEndpoint: `http://127.0.0.1:${port}`,
      }),
    );
    expect(reason).toStartWith("unreachable: ");
    expect(reason).toContain(`127.0.0.1:${port}`);
  });
});

describe("fetchVerified against misbehaving servers", () => {
  const cid = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";

  test("a server that never answers hits the timeout", async () => {
    const server = await startRawServer(() => {});
    try {
      const opts = { ipfsEndpoint: server.url, lighthouseEndpoint: "", timeoutMs: 300, maxBytes: 1000 };
      const reason = await reasonOf(fetchVerified(`ipfs://${cid}`, opts));
      expect(reason).toStartWith("timeout: ");
      expect(reason).toContain("ipfs_timeout");
    } finally {
      await server.close();
    }
  });

  test("a server that stalls mid-body hits the timeout", async () => {
    const server = await startRawServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("hello ");
    });
    try {
      const opts = { ipfsEndpoint: server.url, lighthouseEndpoint: "", timeoutMs: 300, maxBytes: 1000 };
      expect(await reasonOf(fetchVerified(`ipfs://${cid}`, opts))).toStartWith("timeout: ");
    } finally {
      await server.close();
    }
  });

  test("a chunked body without content-length is capped while reading", async () => {
    const server = await startRawServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      for (let i = 0; i < 10; i++) res.write("x".repeat(1000));
      res.end();
    });
    try {
      const opts = { ipfsEndpoint: server.url, lighthouseEndpoint: "", timeoutMs: 5000, maxBytes: 4000 };
      expect(await reasonOf(fetchVerified(`ipfs://${cid}`, opts))).toStartWith("too-large: ");
    } finally {
      await server.close();
    }
  });

  test("uses POST for the Kubo RPC, as Kubo ≥ 0.5 requires", async () => {
    const methods: string[] = [];
    const server = await startRawServer((req, res) => {
      methods.push(`${req.method} ${req.url}`);
      res.writeHead(200);
      res.end("hello world\n");
    });
    try {
      const opts = { ipfsEndpoint: `${server.url}/`, lighthouseEndpoint: "", timeoutMs: 5000, maxBytes: 1000 };
      expect(await fetchVerified(`ipfs://${cid}`, opts)).toEqual(utf8("hello world\n"));
      expect(methods).toEqual([`POST /api/v0/cat?arg=${cid}`]);
    } finally {
      await server.close();
    }
  });
});
