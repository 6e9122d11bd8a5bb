/**
 * Fetching metadata content by URI (protocol/metadata.md#fetching): `ipfs://<CID>` and bare CIDs through
 * the Kubo RPC `cat`, `filecoin://<CID>` through the Lighthouse gateway. Unlike the reference, every
 * answer has its HTTP status checked, its size capped while reading, and its bytes verified against the
 * CID (protocol/reference-differences.md#d11).
 */

import { MetadataError } from "../core/errors.ts";
import { concatBytes } from "../core/numbers.ts";
import { parseCid, verifyContentWithBlocks } from "./cid.ts";

/** Bitswap's largest block (2 MiB); go-ipfs default blocks are 256 KiB plus framing. */
const MAX_BLOCK_BYTES = 2 * 1024 * 1024;

export interface ContentUri {
  scheme: "ipfs" | "filecoin";
  cid: string;
}

/** For messages: the URI as typed, with control characters escaped. */
const shown = (text: string) => JSON.stringify(text);

/**
 * `ipfs://<CID>`, `filecoin://<CID>` or a bare CID (legacy `model_ipfs_hash`); trailing NULs of the
 * on-chain padding are dropped (protocol/metadata.md#metadata-uri). Anything else, including `<CID>/path`, is refused.
 */
export function parseContentUri(uri: string): ContentUri {
  const text = uri.replace(/\0+$/, "");
  let scheme: ContentUri["scheme"] = "ipfs";
  let cid = text;
  if (text.startsWith("ipfs://")) cid = text.slice("ipfs://".length);
  else if (text.startsWith("filecoin://")) {
    scheme = "filecoin";
    cid = text.slice("filecoin://".length);
  }
  if (cid === "" || !/^[A-Za-z0-9]+$/.test(cid)) {
    throw new MetadataError(
      "bad-uri",
      `metadata URI ${shown(uri)} is not "ipfs://<CID>", "filecoin://<CID>" or a bare CID`,
    );
  }
  try {
    parseCid(cid);
  } catch (err) {
    throw new MetadataError(
      "bad-uri",
      `metadata URI ${shown(uri)} does not hold a valid CID: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return { scheme, cid };
}

export interface FetchVerifiedOptions {
  /** Kubo RPC base, e.g. `http://127.0.0.1:5001` (config `ipfs_endpoint`). */
  ipfsEndpoint: string;
  /** Gateway prefix the CID is appended to (config `lighthouse_endpoint`). */
  lighthouseEndpoint: string;
  /** Whole request including the body (config `ipfs_timeout`). */
  timeoutMs: number;
  /** Refused beyond this many bytes, counted while reading. */
  maxBytes: number;
  fetch?: typeof fetch;
}

interface Source {
  /** Which config key to check when it fails. */
  key: "ipfs_endpoint" | "lighthouse_endpoint";
  label: string;
  endpoint: string;
  contentRequest(cid: string): [string, RequestInit];
  blockRequest(cid: string): [string, RequestInit];
}

function sourceFor(scheme: ContentUri["scheme"], opts: FetchVerifiedOptions): Source {
  if (scheme === "ipfs") {
    const base = opts.ipfsEndpoint.replace(/\/+$/, "");
    // Kubo ≥ 0.5 answers 405 to GET on its RPC API; the reference daemon uses POST as well.
    return {
      key: "ipfs_endpoint",
      label: "IPFS node",
      endpoint: opts.ipfsEndpoint,
      contentRequest: (cid) => [`${base}/api/v0/cat?arg=${encodeURIComponent(cid)}`, { method: "POST" }],
      blockRequest: (cid) => [`${base}/api/v0/block/get?arg=${encodeURIComponent(cid)}`, { method: "POST" }],
    };
  }
  const prefix = opts.lighthouseEndpoint.endsWith("/") ? opts.lighthouseEndpoint : `${opts.lighthouseEndpoint}/`;
  return {
    key: "lighthouse_endpoint",
    label: "Filecoin gateway",
    endpoint: opts.lighthouseEndpoint,
    contentRequest: (cid) => [`${prefix}${cid}`, { method: "GET" }],
    // Trustless gateway block request (IPFS gateway spec); only used for multi-block DAGs.
    blockRequest: (cid) => [
      `${prefix}${cid}?format=raw`,
      { method: "GET", headers: { accept: "application/vnd.ipld.raw" } },
    ],
  };
}

/**
 * Fetches the content `uri` names and returns it only if it matches its CID.
 *
 * @example
 * const bytes = await fetchVerified("ipfs://QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", {
 *   ipfsEndpoint: "http://127.0.0.1:5001", lighthouseEndpoint: "https://gateway.lighthouse.storage/ipfs/",
 *   timeoutMs: 30_000, maxBytes: 4 << 20,
 * });
 */
export async function fetchVerified(uri: string, opts: FetchVerifiedOptions): Promise<Uint8Array> {
  const { scheme, cid } = parseContentUri(uri);
  const source = sourceFor(scheme, opts);
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const what = `"${uri.replace(/\0+$/, "")}"`;
  const content = await httpBytes(source, source.contentRequest(cid), what, opts, deadline);
  const blockOpts = { ...opts, maxBytes: MAX_BLOCK_BYTES };
  const fetchBlock = (blockCid: string) =>
    httpBytes(source, source.blockRequest(blockCid), `block "${blockCid}"`, blockOpts, deadline);
  try {
    await verifyContentWithBlocks(cid, content, fetchBlock);
  } catch (err) {
    if (err instanceof MetadataError && err.reason === "content-mismatch") {
      throw new MetadataError(
        err.reason,
        `${err.message}; the ${source.label} at "${source.endpoint}" returned other data than was published, check ${source.key}`,
        { cause: err },
      );
    }
    throw err;
  }
  return content;
}

async function httpBytes(
  source: Source,
  [url, init]: [string, RequestInit],
  what: string,
  opts: FetchVerifiedOptions,
  deadline: AbortSignal,
): Promise<Uint8Array> {
  const doFetch = opts.fetch ?? fetch;
  const where = `${source.label} at "${source.endpoint}"`;
  const timeoutError = () =>
    new MetadataError(
      "timeout",
      `${where} did not deliver ${what} within ${opts.timeoutMs / 1000} s; check ${source.key} or raise ipfs_timeout`,
    );
  let response: Response;
  try {
    response = await doFetch(url, { ...init, signal: deadline });
  } catch (err) {
    if (deadline.aborted) throw timeoutError();
    throw new MetadataError(
      "unreachable",
      `could not reach ${where} to fetch ${what}: ${(err as Error).message}; check ${source.key}`,
      { cause: err },
    );
  }
  try {
    if (!response.ok) {
      const body = (await readCapped(response, 512, true).catch(() => new Uint8Array())) ?? new Uint8Array();
      const text = new TextDecoder().decode(body).trim().replace(/\s+/g, " ");
      throw new MetadataError(
        "http-status",
        `${where} answered HTTP ${response.status} for ${what}${text ? `: ${text}` : ""}; ` +
          `check ${source.key} and that the content is pinned`,
      );
    }
    const declared = Number(response.headers.get("content-length") ?? "NaN");
    if (declared > opts.maxBytes) throw tooLarge(what, where, opts.maxBytes);
    const bytes = await readCapped(response, opts.maxBytes, false);
    if (!bytes) throw tooLarge(what, where, opts.maxBytes);
    return bytes;
  } catch (err) {
    if (err instanceof MetadataError) throw err;
    if (deadline.aborted) throw timeoutError();
    throw new MetadataError("unreachable", `reading ${what} from ${where} failed: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    // Releases the connection when we stopped reading early (error, cap).
    await response.body?.cancel().catch(() => {});
  }
}

function tooLarge(what: string, where: string, maxBytes: number): MetadataError {
  return new MetadataError("too-large", `${what} from ${where} is larger than the ${maxBytes}-byte limit`);
}

/** Reads at most `cap` bytes; undefined when the body is longer (or truncated to `cap` when `truncate`). */
async function readCapped(response: Response, cap: number, truncate: boolean): Promise<Uint8Array | undefined> {
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.length > cap) {
      await reader.cancel().catch(() => {});
      if (!truncate) return undefined;
      parts.push(value.subarray(0, cap - total));
      total = cap;
      break;
    }
    parts.push(value);
    total += value.length;
  }
  reader.releaseLock();
  return concatBytes(...parts);
}
