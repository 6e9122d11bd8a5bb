/**
 * `npm run build`: compiles snetd into one self-contained executable, dist/snetd.
 * The native secp256k1 addon is embedded by its static require (src/crypto/native-recovery.ts); protos
 * are compiled into src/gen, so the binary needs no file besides itself.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as { version: string };
const git = (args: string[]) => {
  try {
    return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
};
const sha = git(["rev-parse", "--short=12", "HEAD"]);
const dirty = git(["status", "--porcelain", "--untracked-files=no"]) ? "-dirty" : "";
const outfile = process.env.SNETD_OUTFILE ?? "dist/snetd";
mkdirSync("dist", { recursive: true });

const defines = {
  SNETD_VERSION: pkg.version,
  SNETD_GIT_SHA: `${sha}${dirty}`,
  SNETD_BUILD_DATE: new Date().toISOString(),
};
// The SQLite writer thread is a second entry point, embedded next to main.
// Bytecode halves start-up (module loading); it needs the ESM output format.
const args = ["build", "--compile", "--bytecode", "--format=esm", "--minify-syntax", "--sourcemap=none", "src/main.ts", "src/store/sqlite-worker.ts", "--outfile", outfile];
for (const [k, v] of Object.entries(defines)) args.push("--define", `${k}=${JSON.stringify(v)}`);

const started = Date.now();
execFileSync(process.execPath, args, { stdio: "inherit" });
console.log(`built ${outfile} (${defines.SNETD_VERSION}, ${defines.SNETD_GIT_SHA}) in ${Date.now() - started} ms`);
