/**
 * The service's proto archive (protocol/metadata.md#proto-archive): a tar, gzip-compressed when it starts with
 * 1F 8B (snet-cli ≥ 3.0 writes .tar.gz, older versions .tar). Only regular `.proto` files are kept.
 */
import { type ParsedTarFileItem, parseTar } from "nanotar";
import { MetadataError } from "../core/errors.ts";
import { concatBytes } from "../core/numbers.ts";

/**
 * Limits (ours, protocol/metadata.md#proto-archive): a proto
 * archive is a few KiB; these only stop hostile or broken archives.
 */
export const MAX_ARCHIVE_BYTES = 16 * 1024 * 1024;
export const MAX_ARCHIVE_ENTRIES = 1000;

export interface ExtractLimits {
  /** Uncompressed tar size. */
  maxBytes?: number;
  maxEntries?: number;
}

const fail = (message: string) => new MetadataError("bad-archive", `proto archive: ${message}`);

/**
 * Proto files of the archive, keyed by their path inside it (leading `./` dropped), e.g.
 * `{ "example_service.proto": "syntax = \"proto3\"; …" }`.
 */
export async function extractProtos(archive: Uint8Array, limits: ExtractLimits = {}): Promise<Record<string, string>> {
  const maxBytes = limits.maxBytes ?? MAX_ARCHIVE_BYTES;
  const maxEntries = limits.maxEntries ?? MAX_ARCHIVE_ENTRIES;
  const gzipped = archive[0] === 0x1f && archive[1] === 0x8b;
  // nanotar reads `data.buffer` from offset 0, so it gets a buffer of its own.
  const tar = gzipped ? await gunzipCapped(archive, maxBytes) : archive.slice();
  if (tar.length > maxBytes) throw fail(`${tar.length} bytes exceed the ${maxBytes}-byte limit`);
  checkRawHeaders(tar, maxEntries);
  const protos: Record<string, string> = {};
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let entries: ParsedTarFileItem[];
  try {
    entries = parseTar(tar) as ParsedTarFileItem[];
  } catch (err) {
    throw fail(`tar data is truncated or corrupt: ${(err as Error).message}`);
  }
  for (const entry of entries) {
    // PAX / GNU long names reach us unnormalised in attrs.path; ustar names were checked above.
    const longName = (entry.attrs as { path?: unknown } | undefined)?.path;
    if (typeof longName === "string") checkName(longName);
    switch (entry.type) {
      case "directory":
      case "gnuDirectory":
        continue;
      case "file":
      case "contiguousFile":
        break;
      default:
        throw fail(
          `entry "${entry.name}" is a ${entry.type ?? "unknown entry"}, only regular files and directories are allowed`,
        );
    }
    if (!entry.name.endsWith(".proto")) continue;
    const name = entry.name.replace(/^\.\//, "");
    try {
      protos[name] = decoder.decode(entry.data ?? new Uint8Array());
    } catch {
      throw fail(`"${name}" is not UTF-8 text`);
    }
  }
  return protos;
}

function checkName(name: string): void {
  // nanotar turns "\\" into "/", so "\\etc\\x.proto" is as absolute as "/etc/x.proto".
  if (/^[\\/]/.test(name) || /^[A-Za-z]:[\\/]/.test(name)) throw fail(`entry "${name}" has an absolute path`);
  if (name.split(/[\\/]/).includes("..")) throw fail(`entry "${name}" climbs out of the archive with ".."`);
}

/**
 * nanotar normalises names before we see them (drops a leading "/", resolves ".."), so unsafe names are
 * checked on the raw 512-byte ustar headers; this walk reads only name, size and type.
 */
function checkRawHeaders(tar: Uint8Array, maxEntries: number): void {
  const ascii = new TextDecoder("latin1");
  let entries = 0;
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header[0] === 0) break;
    const nameEnd = header.subarray(0, 100).indexOf(0);
    checkName(ascii.decode(header.subarray(0, nameEnd === -1 ? 100 : nameEnd)));
    const sizeText = ascii.decode(header.subarray(124, 136)).replace(/\0.*$/s, "").trim();
    const size = sizeText === "" ? 0 : Number.parseInt(sizeText, 8);
    if (!Number.isSafeInteger(size) || size < 0) throw fail(`entry at byte ${offset} has a bad size field`);
    if (++entries > maxEntries) throw fail(`more than ${maxEntries} entries`);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
}

/** Gunzips, refusing output beyond `maxBytes` while inflating (a small .tar.gz can inflate to gigabytes). */
async function gunzipCapped(data: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const input = new Blob([data.slice()]).stream();
  const reader = input.pipeThrough(new DecompressionStream("gzip")).getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw fail(`more than ${maxBytes} bytes once decompressed`);
      }
      parts.push(value);
    }
  } catch (err) {
    if (err instanceof MetadataError) throw err;
    throw fail(`gzip data is corrupt: ${(err as Error).message}`);
  }
  return concatBytes(...parts);
}
