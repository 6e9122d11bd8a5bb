/**
 * `npm run release` (issue 14): five binaries whose headers say the platform their name says, a macOS
 * code signature that matches each macOS binary, the native secp256k1 addon embedded only where it runs,
 * and SHA256SUMS and manifest.json that describe exactly these files.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { machOSignatureProblem } from "../../scripts/macho-sign.ts";
import {
  type Manifest,
  RELEASE_TARGETS,
  type ReleaseTarget,
  releaseFileName,
  SUMS_FILE,
} from "../../scripts/release.ts";
import { readExecutableHeader } from "./headers.ts";
import { ensureRelease, RELEASE_BUILD_TIMEOUT_MS, RELEASE_DIR, releaseBinary } from "./kit.ts";

const repoRoot = resolve(import.meta.dir, "../..");
const ADDON = join(repoRoot, "node_modules/secp256k1/prebuilds/linux-x64/secp256k1.glibc.node");

const EXPECTED: Record<ReleaseTarget, { format: "ELF" | "Mach-O" | "PE"; arch: "x64" | "arm64" }> = {
  "linux-x64": { format: "ELF", arch: "x64" },
  "linux-arm64": { format: "ELF", arch: "arm64" },
  "darwin-x64": { format: "Mach-O", arch: "x64" },
  "darwin-arm64": { format: "Mach-O", arch: "arm64" },
  "windows-x64": { format: "PE", arch: "x64" },
};

let manifest: Manifest;
beforeAll(async () => {
  manifest = await ensureRelease();
}, RELEASE_BUILD_TIMEOUT_MS);

describe("each binary is an executable for its platform", () => {
  for (const target of RELEASE_TARGETS) {
    test(`${releaseFileName(target)} is ${EXPECTED[target].format} for ${EXPECTED[target].arch}`, () => {
      // The first 64 KiB hold every header read here (the PE header sits behind a short DOS stub).
      const head = readFileSync(releaseBinary(manifest, target)).subarray(0, 65536);
      const header = readExecutableHeader(head);
      expect({ format: header.format, arch: header.arch }).toEqual(EXPECTED[target]);
      expect(header.executable).toBe(true);
    });
  }

  for (const target of ["darwin-x64", "darwin-arm64"] as const) {
    test(`${releaseFileName(target)} carries a code signature whose page hashes match the file (macOS kills it otherwise)`, () => {
      expect(machOSignatureProblem(readFileSync(releaseBinary(manifest, target)))).toBeUndefined();
    });
  }

  test("the signature check notices one changed byte in a signed page", () => {
    const bytes = readFileSync(releaseBinary(manifest, "darwin-arm64"));
    bytes[1_000_000] = (bytes[1_000_000] ?? 0) ^ 0xff;
    expect(machOSignatureProblem(bytes)).toBe(
      `1 of ${Math.ceil(signedLength(bytes) / 4096)} page hashes do not match the file`,
    );
  });
});

/** The signature's file offset: everything before it is what the CodeDirectory covers. */
function signedLength(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 32;
  for (let i = 0; i < view.getUint32(16, true); i++) {
    if (view.getUint32(off, true) === 0x1d) return view.getUint32(off + 8, true);
    off += view.getUint32(off + 4, true);
  }
  throw new Error("No LC_CODE_SIGNATURE");
}

describe("the native secp256k1 addon", () => {
  // 4 KiB from inside the addon's code: present in a binary only if the whole addon was embedded.
  const probe = readFileSync(ADDON).subarray(16_384, 20_480);

  test("is embedded in the linux-x64 binary, the platform it is built for", () => {
    expect(readFileSync(releaseBinary(manifest, "linux-x64")).indexOf(probe)).toBeGreaterThan(0);
  });

  for (const target of RELEASE_TARGETS.filter((t) => t !== "linux-x64")) {
    test(`is not embedded in ${releaseFileName(target)}, which uses the pure-JS recovery`, () => {
      expect(readFileSync(releaseBinary(manifest, target)).indexOf(probe)).toBe(-1);
      expect(manifest.targets.find((e) => e.target === target)?.signer_recovery).toBe("pure-JS (@noble)");
    });
  }
});

describe("SHA256SUMS and manifest.json", () => {
  test("sha256sum -c accepts every line of SHA256SUMS, one per binary", () => {
    const r = spawnSync("sha256sum", ["-c", SUMS_FILE], { cwd: RELEASE_DIR, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n").sort()).toEqual(RELEASE_TARGETS.map((t) => `${releaseFileName(t)}: OK`).sort());
  });

  test("the manifest names the package version, the commit, and each file's size, sha256, signer recovery and bytecode", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
    const head = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
    expect(manifest.version).toBe(pkg.version);
    expect(manifest.commit.replace(/-dirty$/, "")).toBe(head);
    expect(manifest.bun).toBe(Bun.version);
    const sums = new Map(
      readFileSync(join(RELEASE_DIR, SUMS_FILE), "utf8")
        .trim()
        .split("\n")
        .map((line) => [line.slice(66), line.slice(0, 64)] as const),
    );
    expect(manifest.targets.map((e) => e.target)).toEqual([...RELEASE_TARGETS]);
    for (const entry of manifest.targets) {
      expect(entry.file).toBe(releaseFileName(entry.target));
      expect(entry.size).toBe(statSync(join(RELEASE_DIR, entry.file)).size);
      expect(entry.sha256).toBe(sums.get(entry.file) ?? "missing");
      expect(entry.signer_recovery).toBe(entry.target === "linux-x64" ? "native libsecp256k1" : "pure-JS (@noble)");
      // Built on Linux: bytecode for the Linux binaries only (scripts/release.ts usesBytecode).
      expect(entry.bytecode).toBe(entry.target.startsWith("linux-"));
    }
  });
});

describe("README's Install section", () => {
  test("its platform table names each release file with the signer recovery the manifest records", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    const install = readme.slice(
      readme.indexOf("## Install\n"),
      readme.indexOf("\n## ", readme.indexOf("## Install\n") + 1),
    );
    const rows = install.split("\n").filter((line) => line.startsWith("| ") && line.includes("`snetd-"));
    for (const entry of manifest.targets) {
      const row = rows.find((r) => r.includes(`\`${entry.file}\``));
      expect(row ?? `no row for ${entry.file}`).toEndWith(
        `| ${entry.signer_recovery}${entry.signer_recovery.startsWith("native") ? " (embedded)" : ""} |`,
      );
    }
  });
});
