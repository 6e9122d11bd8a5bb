/**
 * The release the suites in tests/release check: all five binaries built by `bun scripts/release.ts`
 * into dist/test-release/ (not dist/release/, which a real `npm run release` owns), at most once per
 * `bun test` process and only when the commit or something it is made from changed since the last build.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildIdentity } from "../../build.ts";
import { MANIFEST_FILE, type Manifest, RELEASE_TARGETS, type ReleaseTarget } from "../../scripts/release.ts";
import { newestInput } from "../kit/binary.ts";

const repoRoot = resolve(import.meta.dir, "../..");

/** Where the test release is built. */
export const RELEASE_DIR = join(repoRoot, "dist/test-release");

/** A generous bound for beforeAll: about 15 s here with Bun's runtime cache cold, more on a slow CI. */
export const RELEASE_BUILD_TIMEOUT_MS = 600_000;

/** qemu-user and the arm64 glibc that tests/kit/setup.sh installs from Debian. */
export const QEMU_AARCH64 = "qemu-aarch64";
export const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";

let ready: Promise<Manifest> | undefined;

/**
 * The test release's manifest, building it first when missing or stale.
 *
 * @example
 * beforeAll(async () => { manifest = await ensureRelease(); }, RELEASE_BUILD_TIMEOUT_MS);
 */
export function ensureRelease(): Promise<Manifest> {
  ready ??= buildIfStale();
  return ready;
}

/** The absolute path of a target's binary in the test release. */
export function releaseBinary(manifest: Manifest, target: ReleaseTarget): string {
  const entry = manifest.targets.find((t) => t.target === target);
  if (!entry)
    throw new Error(`The test release has no "${target}" binary; expected all of ${RELEASE_TARGETS.join(", ")}`);
  return join(RELEASE_DIR, entry.file);
}

/** The command prefix that runs the linux-arm64 binary here; throws when qemu-user is missing. */
export function qemuArm64(): string[] {
  if (!Bun.which(QEMU_AARCH64) || !existsSync(join(ARM64_SYSROOT, "lib/ld-linux-aarch64.so.1"))) {
    throw new Error(
      `"${QEMU_AARCH64}" or the arm64 glibc in "${ARM64_SYSROOT}" is missing; install the Debian packages qemu-user and libc6-arm64-cross (tests/kit/setup.sh does as root)`,
    );
  }
  return [QEMU_AARCH64, "-L", ARM64_SYSROOT];
}

function readManifest(): Manifest | undefined {
  const file = join(RELEASE_DIR, MANIFEST_FILE);
  if (!existsSync(file)) return undefined;
  const manifest = JSON.parse(readFileSync(file, "utf8")) as Manifest;
  const complete = RELEASE_TARGETS.every((t) =>
    manifest.targets.some((e) => e.target === t && existsSync(join(RELEASE_DIR, e.file))),
  );
  const inputs = newestInput(["scripts/release.ts", "scripts/macho-sign.ts", "install.sh"]);
  return complete && statSync(file).mtimeMs > inputs && manifest.commit === buildIdentity().commit
    ? manifest
    : undefined;
}

async function buildIfStale(): Promise<Manifest> {
  const fresh = readManifest();
  if (fresh) return fresh;
  const proc = Bun.spawn({
    cmd: [process.execPath, join(repoRoot, "scripts/release.ts"), "--out", RELEASE_DIR],
    cwd: repoRoot,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`'bun scripts/release.ts' failed with exit code ${code}:\n${stdout}${stderr}`);
  // The per-target sizes and timings, for whoever reads the test log.
  console.log(
    stdout
      .split("\n")
      .filter((line) => line.startsWith("snetd-") || line.startsWith("release "))
      .join("\n"),
  );
  const built = readManifest();
  if (!built) throw new Error(`'bun scripts/release.ts' left no complete manifest in "${RELEASE_DIR}"`);
  return built;
}
