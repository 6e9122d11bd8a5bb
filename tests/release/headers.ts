/**
 * What an operating system's loader reads first in an executable: its format and CPU, from the header
 * bytes alone (ELF: e_ident and e_machine; Mach-O: magic and cputype; PE: the MZ stub's e_lfanew, the
 * PE signature and the COFF machine).
 */

/** Format, CPU and kind of an executable, in the words the release targets use. */
export interface ExecutableHeader {
  format: "ELF" | "Mach-O" | "PE";
  arch: "x64" | "arm64" | `unknown ${string}`;
  /** ELF e_type EXEC/DYN, Mach-O MH_EXECUTE, PE console subsystem: something one runs. */
  executable: boolean;
  detail: string;
}

const ELF_MACHINES = new Map<number, ExecutableHeader["arch"]>([
  [0x3e, "x64"],
  [0xb7, "arm64"],
]);
const MACHO_CPUS = new Map<number, ExecutableHeader["arch"]>([
  [0x01000007, "x64"],
  [0x0100000c, "arm64"],
]);
const PE_MACHINES = new Map<number, ExecutableHeader["arch"]>([
  [0x8664, "x64"],
  [0xaa64, "arm64"],
]);

/** Reads the header of `bytes`; throws when it is none of ELF, Mach-O or PE. */
export function readExecutableHeader(bytes: Uint8Array): ExecutableHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hex = (n: number) => `0x${n.toString(16)}`;

  if (view.getUint32(0) === 0x7f454c46) {
    const elfClass = view.getUint8(4); // 2 = 64-bit
    const data = view.getUint8(5); // 1 = little-endian
    const type = view.getUint16(16, true);
    const machine = view.getUint16(18, true);
    return {
      format: "ELF",
      arch:
        elfClass === 2 && data === 1
          ? (ELF_MACHINES.get(machine) ?? `unknown ${hex(machine)}`)
          : `unknown class ${elfClass} data ${data}`,
      executable: type === 2 || type === 3,
      detail: `ELF class ${elfClass}, data ${data}, e_type ${type}, e_machine ${hex(machine)}`,
    };
  }

  if (view.getUint32(0, true) === 0xfeedfacf) {
    const cputype = view.getUint32(4, true);
    const filetype = view.getUint32(12, true);
    return {
      format: "Mach-O",
      arch: MACHO_CPUS.get(cputype) ?? `unknown ${hex(cputype)}`,
      executable: filetype === 2,
      detail: `Mach-O 64-bit, cputype ${hex(cputype)}, filetype ${filetype}`,
    };
  }

  if (view.getUint16(0, true) === 0x5a4d) {
    const pe = view.getUint32(0x3c, true);
    if (view.getUint32(pe) !== 0x50450000) throw new Error(`An MZ file without a PE signature at e_lfanew ${hex(pe)}`);
    const machine = view.getUint16(pe + 4, true);
    const optional = pe + 24;
    const magic = view.getUint16(optional, true); // 0x20b = PE32+
    const subsystem = view.getUint16(optional + 68, true); // 3 = Windows console
    return {
      format: "PE",
      arch:
        magic === 0x20b
          ? (PE_MACHINES.get(machine) ?? `unknown ${hex(machine)}`)
          : `unknown optional header ${hex(magic)}`,
      executable: subsystem === 3,
      detail: `PE, machine ${hex(machine)}, optional header ${hex(magic)}, subsystem ${subsystem}`,
    };
  }

  throw new Error(`Not an executable this release ships: first bytes ${hex(view.getUint32(0))}`);
}
