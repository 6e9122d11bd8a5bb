/**
 * Ad-hoc code signature for a 64-bit Mach-O executable, written without Apple's `codesign` so that a
 * release built on Linux can carry one.
 *
 * Why: `bun build --compile --target=bun-darwin-x64` (Bun 1.4.5) keeps the runtime's original signature,
 * whose page hashes stop short of the embedded program, so macOS sees "code or signature have been
 * modified"; Bun re-signs only darwin-arm64 output. The layout here is the one Bun writes for arm64 (and
 * Go's linker for any darwin binary): a SuperBlob holding one CodeDirectory (version 0x20400, flags
 * adhoc|linker-signed, SHA-256 over 4 KiB pages up to the signature's offset). Re-signing Bun's own
 * darwin-arm64 output with identifier "a.out" reproduces it byte for byte.
 */

const MH_MAGIC_64 = 0xfeedfacf;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CS_ADHOC = 0x2;
const CS_LINKER_SIGNED = 0x20000;
const CS_EXECSEG_MAIN_BINARY = 0x1;
const CS_HASHTYPE_SHA256 = 2;
const PAGE_SHIFT = 12;
const PAGE = 1 << PAGE_SHIFT;
const CD_HEADER = 88; // CodeDirectory up to and including execSegFlags (version 0x20400)
const SUPERBLOB_HEADER = 20; // magic, length, count, one index entry (type, offset)

interface Segment {
  name: string;
  cmdOffset: number;
  fileoff: number;
  filesize: number;
}

interface MachOLayout {
  segments: Segment[];
  /** Offset of the LC_CODE_SIGNATURE command itself. */
  sigCmdOffset: number;
  dataoff: number;
  datasize: number;
}

function layout(bytes: Uint8Array): MachOLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MH_MAGIC_64)
    throw new Error(`Not a 64-bit little-endian Mach-O file: magic "0x${view.getUint32(0, true).toString(16)}"`);
  const ncmds = view.getUint32(16, true);
  const segments: Segment[] = [];
  let sig: Omit<MachOLayout, "segments"> | undefined;
  let off = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = view.getUint32(off, true);
    const size = view.getUint32(off + 4, true);
    if (cmd === LC_SEGMENT_64) {
      const name = new TextDecoder().decode(bytes.subarray(off + 8, off + 24)).replace(/\0+$/, "");
      segments.push({
        name,
        cmdOffset: off,
        fileoff: Number(view.getBigUint64(off + 40, true)),
        filesize: Number(view.getBigUint64(off + 48, true)),
      });
    } else if (cmd === LC_CODE_SIGNATURE) {
      sig = { sigCmdOffset: off, dataoff: view.getUint32(off + 8, true), datasize: view.getUint32(off + 12, true) };
    }
    off += size;
  }
  if (!sig) throw new Error("The Mach-O file has no LC_CODE_SIGNATURE command; expected the runtime's signature space");
  return { segments, ...sig };
}

function segment(l: MachOLayout, name: string): Segment {
  const found = l.segments.find((s) => s.name === name);
  if (!found) throw new Error(`The Mach-O file has no "${name}" segment`);
  return found;
}

function pageHash(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Bun.CryptoHasher("sha256").update(bytes.subarray(start, end)).digest();
}

/**
 * Why the embedded signature would be refused, or undefined when its CodeDirectory's page hashes cover
 * and match everything before the signature (what the macOS kernel checks as pages load).
 */
export function machOSignatureProblem(bytes: Uint8Array): string | undefined {
  const l = layout(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blob = l.dataoff;
  if (view.getUint32(blob) !== CSMAGIC_EMBEDDED_SIGNATURE)
    return "the signature is not an embedded-signature SuperBlob";
  const count = view.getUint32(blob + 8);
  for (let i = 0; i < count; i++) {
    if (view.getUint32(blob + 12 + 8 * i) !== 0) continue; // slot 0: the CodeDirectory
    const cd = blob + view.getUint32(blob + 16 + 8 * i);
    const hashOffset = view.getUint32(cd + 16);
    const nCodeSlots = view.getUint32(cd + 28);
    const codeLimit = view.getUint32(cd + 32);
    const hashSize = view.getUint8(cd + 36);
    const pageSize = 1 << view.getUint8(cd + 39);
    if (view.getUint8(cd + 37) !== CS_HASHTYPE_SHA256)
      return `the CodeDirectory hash type is "${view.getUint8(cd + 37)}"; expected SHA-256 ("2")`;
    if (codeLimit !== l.dataoff) return `the signature covers ${codeLimit} bytes; expected all ${l.dataoff} before it`;
    let bad = 0;
    for (let p = 0; p < nCodeSlots; p++) {
      const want = bytes.subarray(cd + hashOffset + p * hashSize, cd + hashOffset + (p + 1) * hashSize);
      const got = pageHash(bytes, p * pageSize, Math.min((p + 1) * pageSize, codeLimit)).subarray(0, hashSize);
      if (!Buffer.from(want).equals(Buffer.from(got))) bad++;
    }
    return bad === 0 ? undefined : `${bad} of ${nCodeSlots} page hashes do not match the file`;
  }
  return "the signature has no CodeDirectory";
}

/**
 * Returns `bytes` with its code signature replaced by an ad-hoc one over everything before it; the
 * __LINKEDIT segment and LC_CODE_SIGNATURE grow when the new signature needs more room.
 */
export function adhocSignMachO(bytes: Uint8Array, identifier: string): Uint8Array {
  const l = layout(bytes);
  const linkedit = segment(l, "__LINKEDIT");
  const text = segment(l, "__TEXT");
  if (linkedit.fileoff + linkedit.filesize < l.dataoff)
    throw new Error("The code signature lies outside __LINKEDIT; expected it at the segment's end");

  const codeLimit = l.dataoff;
  const nCodeSlots = Math.ceil(codeLimit / PAGE);
  const ident = new TextEncoder().encode(`${identifier}\0`);
  const hashOffset = CD_HEADER + ident.length;
  const cdLength = hashOffset + nCodeSlots * 32;
  const sigLength = SUPERBLOB_HEADER + cdLength;

  const out = new Uint8Array(codeLimit + sigLength);
  out.set(bytes.subarray(0, codeLimit));
  const view = new DataView(out.buffer);
  // Load commands first: they sit in page 0, which the CodeDirectory hashes.
  view.setUint32(l.sigCmdOffset + 12, sigLength, true);
  const linkeditSize = codeLimit + sigLength - linkedit.fileoff;
  view.setBigUint64(linkedit.cmdOffset + 48, BigInt(linkeditSize), true); // filesize
  const vmsize = Number(view.getBigUint64(linkedit.cmdOffset + 32, true));
  if (linkeditSize > vmsize)
    view.setBigUint64(linkedit.cmdOffset + 32, BigInt(Math.ceil(linkeditSize / 0x4000) * 0x4000), true);

  const sb = codeLimit;
  view.setUint32(sb, CSMAGIC_EMBEDDED_SIGNATURE);
  view.setUint32(sb + 4, sigLength);
  view.setUint32(sb + 8, 1);
  view.setUint32(sb + 12, 0); // CSSLOT_CODEDIRECTORY
  view.setUint32(sb + 16, SUPERBLOB_HEADER);
  const cd = sb + SUPERBLOB_HEADER;
  view.setUint32(cd, CSMAGIC_CODEDIRECTORY);
  view.setUint32(cd + 4, cdLength);
  view.setUint32(cd + 8, 0x20400); // version with execSeg fields
  view.setUint32(cd + 12, CS_ADHOC | CS_LINKER_SIGNED);
  view.setUint32(cd + 16, hashOffset);
  view.setUint32(cd + 20, CD_HEADER); // identOffset
  view.setUint32(cd + 24, 0); // nSpecialSlots: no Info.plist, requirements or entitlements
  view.setUint32(cd + 28, nCodeSlots);
  view.setUint32(cd + 32, codeLimit);
  view.setUint8(cd + 36, 32); // hashSize
  view.setUint8(cd + 37, CS_HASHTYPE_SHA256);
  view.setUint8(cd + 38, 0); // platform
  view.setUint8(cd + 39, PAGE_SHIFT);
  // spare2, scatterOffset, teamOffset, spare3, codeLimit64 stay zero.
  view.setBigUint64(cd + 64, BigInt(text.fileoff)); // execSegBase
  view.setBigUint64(cd + 72, BigInt(text.filesize)); // execSegLimit
  view.setBigUint64(cd + 80, BigInt(CS_EXECSEG_MAIN_BINARY));
  out.set(ident, cd + CD_HEADER);
  for (let p = 0; p < nCodeSlots; p++) {
    out.set(pageHash(out, p * PAGE, Math.min((p + 1) * PAGE, codeLimit)), cd + hashOffset + p * 32);
  }
  return out;
}
