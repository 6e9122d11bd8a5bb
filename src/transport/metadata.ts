/**
 * Request metadata as the payment layer sees it: lower-case keys, every value
 * kept (duplicates matter: protocol/headers.md#payment-metadata refuses
 * repeated payment headers), `-bin` values still base64 text as on the wire.
 */

export type Metadata = ReadonlyMap<string, readonly string[]>;

/** Headers that belong to HTTP/2 or the transport, never forwarded as call metadata. */
const TRANSPORT_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
  "te",
  "content-length",
  "http2-settings",
]);

/** From node's flat rawHeaders array ([name, value, name, value, …]). */
export function metadataFromRaw(raw: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = (raw[i] as string).toLowerCase();
    if (key.startsWith(":") || TRANSPORT_HEADERS.has(key)) continue;
    const value = raw[i + 1] as string;
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  }
  return out;
}

/** Decodes a `-bin` value: base64 (standard or URL alphabet, even mixed), padded or not. */
export function decodeBinaryHeader(value: string): Uint8Array {
  // Node's base64 decoder reads both alphabets itself; the copy makes a plain Uint8Array, not a Buffer.
  return new Uint8Array(Buffer.from(value, "base64"));
}

export function encodeBinaryHeader(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64").replace(/=+$/, "");
}
