/**
 * How much garbage the JS heap of `snetd serve` may hold before it is collected. JavaScriptCore sizes heap
 * growth from the machine's RAM: on a host of 16 GB or more it lets a busy daemon's garbage grow some 40 MB
 * further than on one of 12 GB or less (bench paid load on a 24 GB host: peak RSS ~185 MB, ~146 MB when told
 * 8 GB, at the same CPU per call). A sidecar should not size its heap by its host's RAM, so serve runs with
 * the runtime told 8 GB. The runtime reads that (`BUN_JSC_forceRAMSize`) only when it starts: when the
 * variable is unset, the process replaces itself (execve: same pid, same open descriptors) with the same
 * command and the variable set. An operator's own value is kept; other runtimes (Deno) are left alone.
 * Where the process cannot execute itself (an arm64 binary run by qemu-user on an x64 host: ENOEXEC), it
 * goes on unsized rather than fail.
 */

/** The RAM the JS engine is told, in bytes: sizes heap growth like a mid-size host's. */
export const HEAP_SIZING_RAM = "8589934592";

/** Re-executes this process with the heap sizing set, unless it is set already; returns only then. */
export function applyHeapSizing(): void {
  if (!process.versions.bun || process.env.BUN_JSC_forceRAMSize !== undefined || typeof process.execve !== "function")
    return;
  // A compiled binary sees its own embedded path as argv[1], which it must not be given again as an argument.
  const compiled = process.argv[1]?.startsWith("/$bunfs/") === true;
  const args = compiled
    ? [process.execPath, ...process.argv.slice(2)]
    : [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  // execve is marked experimental and says so on stderr at every start; the operator cannot act on that.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    process.execve(process.execPath, args, { ...process.env, BUN_JSC_forceRAMSize: HEAP_SIZING_RAM });
  } catch {
    // Not executable from here: serve with the runtime's own sizing.
  } finally {
    process.emitWarning = emitWarning;
  }
}
