/**
 * dist/snetd for the suites that run the compiled daemon (`startDaemon({ binary: true })`, `runCli`).
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const repoRoot = resolve(import.meta.dir, "../..");

/** The compiled daemon that `binary: true` runs; `ensureBinary()` keeps it current. */
export const SNETD_BINARY = join(repoRoot, "dist/snetd");

let binaryReady: Promise<string> | undefined;

/**
 * dist/snetd built from the current source, at most once per process: bun test runs every file in one
 * process, and `npm test` builds just before, so the build only runs when something it is made from
 * (src/, build.ts, package.json) is newer than the binary, e.g. one suite run alone after an edit.
 * Resolves to the binary's path.
 *
 * @example
 * beforeAll(() => ensureBinary(), 120_000);
 */
export function ensureBinary(): Promise<string> {
  binaryReady ??= buildIfStale();
  return binaryReady;
}

async function buildIfStale(): Promise<string> {
  const built = existsSync(SNETD_BINARY) ? statSync(SNETD_BINARY).mtimeMs : -1;
  if (built > newestInput()) return SNETD_BINARY;
  // Built aside and renamed into place: a daemon running the old binary, or another test process
  // building at the same time, never sees a half-written file.
  const outfile = join(repoRoot, "dist", `.snetd-build-${process.pid}`);
  const proc = Bun.spawn({
    cmd: [process.execPath, join(repoRoot, "build.ts")],
    cwd: repoRoot,
    env: { ...process.env, SNETD_OUTFILE: outfile },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) {
    rmSync(outfile, { force: true });
    throw new Error(`'bun build.ts' failed with exit code ${code}:\n${stdout}${stderr}`);
  }
  renameSync(outfile, SNETD_BINARY);
  return SNETD_BINARY;
}

/** The latest modification time of anything the binary is built from (plus `extraFiles`, repo-relative). */
export function newestInput(extraFiles: string[] = []): number {
  let newest = 0;
  for (const file of ["build.ts", "package.json", ...extraFiles])
    newest = Math.max(newest, statSync(join(repoRoot, file)).mtimeMs);
  for (const entry of readdirSync(join(repoRoot, "src"), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}
