/**
 * A test IPFS node speaking the subset of the Kubo HTTP API that snetd, snet-cli 3.0 (ipfshttpclient
 * 0.4.13) and the JS SDKs use (protocol/metadata.md#test-ipfs). Content gets its real go-ipfs CIDv0, so the
 * daemon verifies real UnixFS DAGs, not the raw-digest convention of simpler mocks.
 *
 * | Path | Methods | Answer |
 * |---|---|---|
 * | /api/v0/version | GET, POST | `{"Version":"0.4.23",…}` (ipfshttpclient needs 0.4.18 ≤ v < 0.5.0) |
 * | /api/v0/add | POST multipart | one `{"Name","Hash","Size"}` line per file, plus the directory with `wrap-with-directory`; `cid-version=1` gives raw CIDv1 for single-chunk files |
 * | /api/v0/cat?arg= | GET, POST | content bytes; `<dir-cid>/<name>` resolves through a wrapped directory |
 * | /api/v0/block/get?arg= | GET, POST | the block whose hash is in the CID |
 * | /ipfs/<cid> | GET | gateway form (for `lighthouse_endpoint`); `?format=raw` → the block |
 *
 * Every answer allows any origin, as a Kubo node configured for dApps does (`API.HTTPHeaders`): snet-sdk-web
 * fetches metadata from a page on another origin.
 */
import http from "node:http";
import type net from "node:net";
import * as dagPb from "@ipld/dag-pb";
import { sha256 } from "@noble/hashes/sha2.js";
import { UnixFS } from "ipfs-unixfs";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { buildFileDag, CHUNK_SIZE, unixFsLeafBlock } from "../../src/metadata/cid.ts";
import { freePort } from "./ports.ts";

export interface IpfsServer {
  /** `http://127.0.0.1:PORT` — for `ipfs_endpoint`. */
  url: string;
  /** `/ip4/127.0.0.1/tcp/PORT/http` — what snet-cli and snet-sdk-python expect. */
  multiaddr: string;
  /** Stores `content` as `ipfs add` would and returns its CIDv0. */
  add(content: Uint8Array, name?: string): Promise<string>;
  /** From now on serve `content` for `cid` (cat, gateway and block/get), to test verification. */
  tamper(cid: string, content: Uint8Array): void;
  stop(): Promise<void>;
}

const VERSION = { Version: "0.4.23", Commit: "", Repo: "7", System: "amd64/linux", Golang: "go1.13.8" };

interface Stored {
  kind: "file" | "dir";
  /** File content; for directories, name → child CID text. */
  content?: Uint8Array;
  entries?: Map<string, string>;
  /** Cumulative size, as Kubo reports in `add`. */
  size: number;
}

export async function startIpfsServer(): Promise<IpfsServer> {
  const blocks = new Map<string, Uint8Array>();
  const objects = new Map<string, Stored>();
  const tampered = new Map<string, Uint8Array>();

  const addFile = (content: Uint8Array, cidVersion: 0 | 1): string => {
    if (cidVersion === 1) {
      // Kubo with --cid-version=1 uses raw leaves; a one-chunk file is then a single raw block.
      if (content.length > CHUNK_SIZE) throw new Error("cid-version=1 is only supported for single-chunk files");
      const cid = CID.createV1(0x55, Digest.create(0x12, sha256(content))).toString();
      blocks.set(cid, content);
      objects.set(cid, { kind: "file", content, size: content.length });
      return cid;
    }
    const dag = buildFileDag(content);
    for (const [k, v] of dag.blocks) blocks.set(k, v);
    const size = [...dag.blocks.values()].reduce((n, b) => n + b.length, 0);
    const cid = dag.root.toString();
    objects.set(cid, { kind: "file", content, size });
    return cid;
  };

  const addDirectory = (files: Array<{ name: string; cid: string }>): string => {
    const links = files
      .map((f) => ({ Hash: CID.parse(f.cid), Name: f.name, Tsize: objects.get(f.cid)?.size ?? 0 }))
      .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    const block = dagPb.encode({ Data: new UnixFS({ type: "directory" }).marshal(), Links: links });
    const cid = CID.createV0(Digest.create(0x12, sha256(block))).toString();
    blocks.set(cid, block);
    const size = links.reduce((n, l) => n + l.Tsize, block.length);
    objects.set(cid, { kind: "dir", entries: new Map(files.map((f) => [f.name, f.cid])), size });
    return cid;
  };

  /** Kubo accepts any CID form; we key by CIDv0 for dag-pb, canonical text otherwise. */
  const canonical = (text: string): string | undefined => {
    try {
      const cid = CID.parse(text);
      return cid.code === 0x70 && cid.multihash.code === 0x12 ? cid.toV0().toString() : cid.toString();
    } catch {
      return undefined;
    }
  };

  /** `Qm…`, `/ipfs/Qm…`, `Qm…/name` → the CID of the file or directory it names. */
  const resolvePath = (arg: string): { cid?: string; error?: string } => {
    const parts = arg
      .replace(/^\/ipfs\//, "")
      .split("/")
      .filter(Boolean);
    const first = parts.shift();
    let cid = first === undefined ? undefined : canonical(first);
    if (cid === undefined) return { error: `invalid path "${arg}": selected encoding not supported` };
    for (const name of parts) {
      const next: string | undefined = objects.get(cid)?.entries?.get(name);
      if (next === undefined) return { error: `no link named "${name}" under ${cid}` };
      cid = next;
    }
    return { cid };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...CORS,
        "access-control-allow-methods": "GET, POST",
        "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "*",
      });
      res.end();
      return;
    }
    const body = await readBody(req);
    const kuboError = (message: string, status = 500) =>
      sendJson(res, status, { Message: message, Code: 0, Type: "error" });
    const arg = url.searchParams.get("arg") ?? "";

    if (url.pathname.startsWith("/ipfs/")) {
      if (req.method !== "GET" && req.method !== "HEAD") return kuboError("method not allowed", 405);
      const { cid } = resolvePath(url.pathname);
      if (url.searchParams.get("format") === "raw") {
        const block = cid && (tampered.has(cid) ? unixFsLeafBlock(tampered.get(cid) as Uint8Array) : blocks.get(cid));
        if (!block) return sendText(res, 404, "block not found\n");
        return send(res, 200, "application/vnd.ipld.raw", block);
      }
      const content = cid && (tampered.get(cid) ?? objects.get(cid)?.content);
      if (!content) return sendText(res, 404, `ipfs resolve -r ${url.pathname}: not found\n`);
      return send(res, 200, "application/octet-stream", content);
    }

    if (req.method !== "GET" && req.method !== "POST") return kuboError(`${req.method} not allowed`, 405);
    switch (url.pathname) {
      case "/api/v0/version":
        return sendJson(res, 200, VERSION);
      case "/api/v0/cat": {
        const { cid, error } = resolvePath(arg);
        if (!cid) return kuboError(error ?? "invalid path");
        const object = objects.get(cid);
        if (tampered.has(cid)) return send(res, 200, "text/plain", tampered.get(cid) as Uint8Array);
        if (!object) return kuboError("merkledag: not found");
        if (object.kind === "dir") return kuboError("this dag node is a directory");
        return send(res, 200, "text/plain", object.content as Uint8Array);
      }
      case "/api/v0/block/get": {
        const cid = canonical(arg);
        if (!cid) return kuboError(`invalid 'ipfs ref' path "${arg}"`);
        const tamperedContent = tampered.get(cid);
        const block = tamperedContent ? unixFsLeafBlock(tamperedContent) : blocks.get(cid);
        if (!block) return kuboError("blockservice: key not found");
        return send(res, 200, "text/plain", block);
      }
      case "/api/v0/add": {
        if (req.method !== "POST") return kuboError("add needs POST", 405);
        const type = req.headers["content-type"] ?? "";
        const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
        if (!boundary) return kuboError("file argument 'path' is required", 400);
        const cidVersion = url.searchParams.get("cid-version") === "1" ? 1 : 0;
        const lines: Array<{ Name: string; Hash: string; Size: string }> = [];
        const added: Array<{ name: string; cid: string }> = [];
        for (const part of parseMultipart(body, boundary)) {
          if (part.isDirectory) continue;
          let cid: string;
          try {
            cid = addFile(part.content, cidVersion);
          } catch (err) {
            return kuboError((err as Error).message);
          }
          const name = part.filename.split("/").pop() || cid;
          added.push({ name, cid });
          lines.push({ Name: part.filename || cid, Hash: cid, Size: String(objects.get(cid)?.size ?? 0) });
        }
        if (/^(true|1|)$/.test(url.searchParams.get("wrap-with-directory") ?? "false")) {
          const dir = addDirectory(added);
          lines.push({ Name: "", Hash: dir, Size: String(objects.get(dir)?.size ?? 0) });
        }
        res.writeHead(200, { ...CORS, "content-type": "application/json", "x-chunked-output": "1" });
        res.end(lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
        return;
      }
      default:
        return sendText(res, 404, "404 page not found");
    }
  };

  const port = await freePort();
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { Message: String(err), Code: 0, Type: "error" });
      else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });

  return {
    url: `http://127.0.0.1:${port}`,
    multiaddr: `/ip4/127.0.0.1/tcp/${port}/http`,
    add: async (content, _name) => addFile(content, 0),
    tamper: (cid, content) => {
      tampered.set(canonical(cid) ?? cid, content);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: http.IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}

const CORS = { "access-control-allow-origin": "*" };

function send(res: http.ServerResponse, status: number, type: string, body: Uint8Array): void {
  res.writeHead(status, { ...CORS, "content-type": type, "content-length": String(body.length) });
  res.end(body);
}
const sendText = (res: http.ServerResponse, status: number, text: string) =>
  send(res, status, "text/plain; charset=utf-8", new TextEncoder().encode(text));
const sendJson = (res: http.ServerResponse, status: number, value: unknown) =>
  send(res, status, "application/json", new TextEncoder().encode(`${JSON.stringify(value)}\n`));

interface Part {
  filename: string;
  isDirectory: boolean;
  content: Uint8Array;
}

/**
 * Tolerant multipart/form-data reader: ipfshttpclient writes `Content-Disposition: file; filename=…`
 * (URL-encoded names, `application/x-directory` parts for folders), browsers write `form-data`.
 */
function parseMultipart(body: Uint8Array, boundary: string): Part[] {
  const data = Buffer.from(body.buffer, body.byteOffset, body.length);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let start = data.indexOf(delimiter);
  while (start !== -1) {
    const afterDelimiter = start + delimiter.length;
    if (data.subarray(afterDelimiter, afterDelimiter + 2).toString() === "--") break;
    const next = data.indexOf(delimiter, afterDelimiter);
    if (next === -1) break;
    const raw = data.subarray(afterDelimiter + 2, next - 2); // drop CRLF after delimiter and before next
    const split = raw.indexOf("\r\n\r\n");
    const headerText = split === -1 ? "" : raw.subarray(0, split).toString("latin1");
    const content = split === -1 ? new Uint8Array() : new Uint8Array(raw.subarray(split + 4));
    const headers = new Map(
      headerText.split("\r\n").map((l) => {
        const i = l.indexOf(":");
        return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()] as [string, string];
      }),
    );
    const filename = /filename\*?="?([^";]*)"?/i.exec(headers.get("content-disposition") ?? "")?.[1] ?? "";
    parts.push({
      filename: safeDecode(filename),
      isDirectory: (headers.get("content-type") ?? "").startsWith("application/x-directory"),
      content,
    });
    start = next;
  }
  return parts;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
