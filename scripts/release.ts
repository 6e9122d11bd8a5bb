/**
 * `npm run release`: one self-contained snetd binary per platform in dist/release/, plus SHA256SUMS
 * (sha256sum's format, which install.sh checks), manifest.json and install.sh.
 *
 *   bun scripts/release.ts                          all five platforms into dist/release/
 *   bun scripts/release.ts linux-x64 linux-arm64    only these
 *   bun scripts/release.ts --out DIR ...            somewhere else (the tests build into their own folder)
 *
 * Each binary is compiled by build.ts's `compileSnetd`. Bun fetches the runtime of a platform other than
 * this one from the npm registry (`@oven/bun-<os>-<arch>` at the running Bun's version) into its install
 * cache, so a release needs only the npm registry, like `npm ci`. A macOS binary whose code signature
 * does not cover it (Bun's darwin-x64 output) is signed ad hoc here (scripts/macho-sign.ts): macOS refuses
 * a binary whose signature does not match its pages.
 */
import { createHash } from "node:crypto";
import { copyFileSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type BuildIdentity, buildIdentity, compileSnetd, NATIVE_ADDON_PLATFORM } from "../build.ts";
import { recoveryLabel } from "../src/cli/version.ts";
import { adhocSignMachO, machOSignatureProblem } from "./macho-sign.ts";

/** The platforms a release ships, in the order they are built. */
export const RELEASE_TARGETS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64", "windows-x64"] as const;
export type ReleaseTarget = (typeof RELEASE_TARGETS)[number];

/** One binary's entry in manifest.json. */
export interface ManifestEntry {
  target: ReleaseTarget;
  file: string;
  size: number;
  sha256: string;
  /** "native libsecp256k1" where the addon is embedded, else "pure-JS (@noble)". */
  signer_recovery: string;
  /** Precompiled to JSC bytecode (faster start-up). */
  bytecode: boolean;
}

/** dist/release/manifest.json. */
export interface Manifest {
  version: string;
  commit: string;
  build_date: string;
  bun: string;
  targets: ManifestEntry[];
}

export const MANIFEST_FILE = "manifest.json";
export const SUMS_FILE = "SHA256SUMS";
/** Shipped beside the binaries so that `curl …/install.sh | bash` works. */
export const INSTALLER_FILE = "install.sh";

/**
 * Bytecode only for the building machine's own operating system: JSC bytecode made on one OS is
 * reported to crash Bun on another (oven-sh/bun issue 18416), while Linux-made bytecode runs on both
 * Linux CPUs (tests/release/run.test.ts runs linux-arm64 under qemu-user).
 */
export function usesBytecode(target: ReleaseTarget): boolean {
  const hostOs = process.platform === "win32" ? "windows" : process.platform;
  return target.startsWith(`${hostOs}-`);
}

/** The file name of a target's binary: snetd-linux-x64, …, snetd-windows-x64.exe. */
export function releaseFileName(target: ReleaseTarget): string {
  return target.startsWith("windows-") ? `snetd-${target}.exe` : `snetd-${target}`;
}

function isReleaseTarget(name: string): name is ReleaseTarget {
  return (RELEASE_TARGETS as readonly string[]).includes(name);
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Re-signs a macOS binary ad hoc when its signature does not match it; throws if that did not help. */
function ensureMachOSignature(path: string): void {
  const bytes = readFileSync(path);
  const problem = machOSignatureProblem(bytes);
  if (!problem) return;
  const signed = adhocSignMachO(bytes, "snetd");
  const left = machOSignatureProblem(signed);
  if (left) throw new Error(`Signing "${path}" ad hoc failed: ${left}`);
  writeFileSync(path, signed);
  console.log(`signed ${path} ad hoc (Bun's signature was stale: ${problem})`);
}

/** Removes what an earlier release left in `outDir` (only the files a release writes). */
function clearOldRelease(outDir: string): void {
  let names: string[];
  try {
    names = readdirSync(outDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith("snetd-") || name === SUMS_FILE || name === MANIFEST_FILE || name === INSTALLER_FILE)
      rmSync(join(outDir, name), { force: true });
  }
}

/**
 * Compiles `targets` into `outDir` and writes SHA256SUMS and manifest.json; returns the manifest and how
 * long each target took to compile.
 */
export function buildRelease(
  outDir: string,
  targets: readonly ReleaseTarget[],
  identity: BuildIdentity = buildIdentity(),
): { manifest: Manifest; buildMs: Map<ReleaseTarget, number> } {
  clearOldRelease(outDir);
  const entries: ManifestEntry[] = [];
  const buildMs = new Map<ReleaseTarget, number>();
  for (const target of targets) {
    const file = releaseFileName(target);
    const path = join(outDir, file);
    const nativeAddon = target === NATIVE_ADDON_PLATFORM;
    const bytecode = usesBytecode(target);
    buildMs.set(target, compileSnetd({ outfile: path, target: `bun-${target}`, nativeAddon, bytecode, identity }));
    if (target.startsWith("darwin-")) ensureMachOSignature(path);
    entries.push({
      target,
      file,
      size: statSync(path).size,
      sha256: sha256File(path),
      signer_recovery: recoveryLabel(nativeAddon ? "libsecp256k1" : "noble"),
      bytecode,
    });
  }
  const manifest: Manifest = {
    version: identity.version,
    commit: identity.commit,
    build_date: identity.date,
    bun: Bun.version,
    targets: entries,
  };
  writeFileSync(join(outDir, SUMS_FILE), entries.map((e) => `${e.sha256}  ${e.file}\n`).join(""));
  writeFileSync(join(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  copyFileSync(join(import.meta.dir, "..", INSTALLER_FILE), join(outDir, INSTALLER_FILE));
  return { manifest, buildMs };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    options: { out: { type: "string", default: "dist/release" } },
    allowPositionals: true,
  });
  const unknown = positionals.filter((p) => !isReleaseTarget(p));
  if (unknown.length > 0) {
    console.error(
      `release: unknown target ${unknown.map((u) => `"${u}"`).join(", ")}; expected some of ${RELEASE_TARGETS.join(", ")}`,
    );
    process.exit(2);
  }
  const targets = positionals.length > 0 ? positionals.filter(isReleaseTarget) : RELEASE_TARGETS;
  const outDir = resolve(values.out);
  const { manifest, buildMs } = buildRelease(outDir, targets);
  for (const entry of manifest.targets) {
    const mb = (entry.size / 1e6).toFixed(1);
    console.log(
      `${entry.file.padEnd(24)} ${mb.padStart(6)} MB  ${String(buildMs.get(entry.target)).padStart(6)} ms  ${entry.signer_recovery}${entry.bytecode ? ", bytecode" : ""}`,
    );
  }
  console.log(
    `release ${manifest.version} (${manifest.commit}) in ${outDir}: ${manifest.targets.length} binaries, ${SUMS_FILE}, ${MANIFEST_FILE}, ${INSTALLER_FILE}`,
  );
}
