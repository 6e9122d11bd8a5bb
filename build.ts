/**
 * `npm run build`: compiles snetd into one self-contained executable, dist/snetd, for this machine.
 * `npm run release` (scripts/release.ts) compiles the same way for each platform through `compileSnetd`.
 * The native secp256k1 addon is embedded by its static require (src/crypto/native-recovery.ts) only where
 * it runs; protos are compiled into src/gen, so the binary needs no file besides itself.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const repoRoot = import.meta.dir;

/** What `snetd version` reports: package version, git commit and build time. */
export interface BuildIdentity {
  version: string;
  commit: string;
  date: string;
}

/** The platform the only embeddable addon is built for (node_modules/secp256k1/prebuilds/linux-x64). */
export const NATIVE_ADDON_PLATFORM = "linux-x64";

export interface CompileOptions {
  outfile: string;
  /** A Bun compile target such as "bun-linux-arm64"; omitted, the running Bun's own platform. */
  target?: string;
  /** Embed the linux-x64 libsecp256k1 addon; false for any other platform, which uses @noble/curves. */
  nativeAddon: boolean;
  /** Precompile to JSC bytecode (half the start-up); only for platforms where the result is run and tested. */
  bytecode: boolean;
  identity: BuildIdentity;
}

/** The version from package.json and the current commit ("-dirty" when tracked files changed). */
export function buildIdentity(): BuildIdentity {
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
  const git = (args: string[]) => {
    try {
      return execFileSync("git", args, { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return "unknown";
    }
  };
  const sha = git(["rev-parse", "--short=12", "HEAD"]);
  const dirty = git(["status", "--porcelain", "--untracked-files=no"]) ? "-dirty" : "";
  return { version: pkg.version, commit: `${sha}${dirty}`, date: new Date().toISOString() };
}

/**
 * Runs `bun build --compile` for one platform. For a `target` other than this machine's, Bun fetches
 * that platform's runtime once from the npm registry (the `@oven/bun-<os>-<arch>` tarball) into its
 * install cache. Returns the milliseconds it took.
 */
export function compileSnetd(options: CompileOptions): number {
  const outfile = resolve(options.outfile);
  mkdirSync(dirname(outfile), { recursive: true });
  const defines = {
    SNETD_VERSION: options.identity.version,
    SNETD_GIT_SHA: options.identity.commit,
    SNETD_BUILD_DATE: options.identity.date,
    SNETD_NATIVE_SECP256K1: options.nativeAddon,
  };
  // The SQLite writer thread is a second entry point, embedded next to main.
  // Bytecode halves start-up (module loading); it needs the ESM output format.
  const args = [
    "build",
    "--compile",
    ...(options.bytecode ? ["--bytecode"] : []),
    "--format=esm",
    "--minify-syntax",
    "--sourcemap=none",
  ];
  if (options.target) args.push(`--target=${options.target}`);
  args.push("src/main.ts", "src/store/sqlite-worker.ts", "--outfile", outfile);
  for (const [k, v] of Object.entries(defines)) args.push("--define", `${k}=${JSON.stringify(v)}`);
  const started = Date.now();
  execFileSync(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "inherit", "inherit"] });
  return Date.now() - started;
}

if (import.meta.main) {
  const outfile = process.env.SNETD_OUTFILE ?? "dist/snetd";
  const identity = buildIdentity();
  const nativeAddon = `${process.platform}-${process.arch}` === NATIVE_ADDON_PLATFORM;
  const ms = compileSnetd({ outfile, nativeAddon, bytecode: true, identity });
  console.log(`built ${outfile} (${identity.version}, ${identity.commit}) in ${ms} ms`);
}
