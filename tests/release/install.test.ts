/**
 * install.sh end to end (issue 14): a local HTTP server serves the test release the way GitHub serves a
 * release's assets; install.sh downloads this machine's binary and SHA256SUMS with curl or wget, checks
 * the sum with sha256sum or shasum, installs into a temporary PREFIX, and the installed snetd runs. A
 * tampered binary, a SHA256SUMS without the binary's line or a failed download installs nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { INSTALLER_FILE, type Manifest, SUMS_FILE } from "../../scripts/release.ts";
import { runCli } from "../kit/daemon.ts";
import { ensureRelease, RELEASE_BUILD_TIMEOUT_MS, RELEASE_DIR } from "./kit.ts";

const repoRoot = resolve(import.meta.dir, "../..");
const INSTALL_SH = join(repoRoot, "install.sh");
const BASH = Bun.which("bash") ?? "/bin/bash";
const HERE = "snetd-linux-x64"; // what install.sh picks on this machine (the suite runs on linux-x64)
const INSTALL_TIMEOUT_MS = 120_000;

let manifest: Manifest;
let server: ReturnType<typeof Bun.serve>;
let tampered: Uint8Array<ArrayBuffer>;
const requests: { path: string; userAgent: string }[] = [];
const scratch = mkdtempSync(join(tmpdir(), "snetd-install-test-"));

/**
 * The release under /good/; /tampered/ has one byte of this machine's binary changed, /no-entry/ a
 * SHA256SUMS without its line, /missing/ no binary at all.
 */
function serveRelease(req: Request): Response {
  const path = new URL(req.url).pathname;
  requests.push({ path, userAgent: req.headers.get("user-agent") ?? "" });
  const [, variant, name] = path.split("/");
  if (!variant || !name || name.includes("..")) return new Response("not found", { status: 404 });
  if (variant === "tampered" && name === HERE) return new Response(tampered);
  if (variant === "no-entry" && name === SUMS_FILE) {
    const sums = readFileSync(join(RELEASE_DIR, SUMS_FILE), "utf8");
    return new Response(
      sums
        .split("\n")
        .filter((line) => !line.endsWith(`  ${HERE}`))
        .join("\n"),
    );
  }
  if (variant === "missing" && name === HERE) return new Response("not found", { status: 404 });
  const file = Bun.file(join(RELEASE_DIR, name));
  return existsSync(join(RELEASE_DIR, name)) ? new Response(file) : new Response("not found", { status: 404 });
}

beforeAll(async () => {
  manifest = await ensureRelease();
  tampered = new Uint8Array(readFileSync(join(RELEASE_DIR, HERE)));
  tampered[tampered.length >> 1] = (tampered[tampered.length >> 1] ?? 0) ^ 0x01;
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: serveRelease });
}, RELEASE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await server?.stop(true);
  rmSync(scratch, { recursive: true, force: true });
});

const url = (variant: string) => `http://127.0.0.1:${server.port}/${variant}`;
let prefixes = 0;
const freshPrefix = () => join(scratch, `prefix-${++prefixes}`);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs install.sh (or `script` in bash -c) with `env` on top of a plain environment. */
async function install(args: string[], env: Record<string, string>, script?: string): Promise<Run> {
  const cmd = script === undefined ? [BASH, INSTALL_SH, ...args] : [BASH, "-c", script];
  const proc = Bun.spawn({
    cmd,
    cwd: scratch,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratch, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** A PATH holding only the tools install.sh may use, minus `without` (so another tool must step in). */
function pathWithout(without: string[]): string {
  const dir = mkdtempSync(join(scratch, `path-without-${without.join("-")}-`));
  for (const tool of [
    "bash",
    "uname",
    "awk",
    "sha256sum",
    "shasum",
    "mktemp",
    "rm",
    "mkdir",
    "dirname",
    "install",
    "mv",
    "head",
    "sed",
    "curl",
    "wget",
  ]) {
    const found = Bun.which(tool);
    if (found && !without.includes(tool)) symlinkSync(found, join(dir, tool));
  }
  return dir;
}

function expectInstalled(prefix: string, run: Run): void {
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const installed = join(prefix, "bin/snetd");
  expect(statSync(installed).mode & 0o777).toBe(0o755);
  const sha = new Bun.CryptoHasher("sha256").update(readFileSync(installed)).digest("hex");
  expect(sha).toBe(manifest.targets.find((e) => e.file === HERE)?.sha256 ?? "missing");
  expect(run.stdout).toContain(`verified ${HERE} (sha256 ${sha})`);
  expect(run.stdout).toContain(`installed ${installed}: snetd ${manifest.version}`);
  expect(run.stdout).toContain("snetd init-config -o snetd.config.yaml");
  expect(run.stdout).toContain("snetd serve -c snetd.config.yaml");
}

/** What a refused install leaves: the exit code and message, and PREFIX/bin as it was. */
function expectNothingInstalled(prefix: string, run: Run, code: number, message: string): void {
  expect(run.code).toBe(code);
  expect(run.stderr).toContain(message);
  expect(existsSync(join(prefix, "bin")) ? readdirSync(join(prefix, "bin")) : []).toEqual([]);
}

describe("install.sh from a release server", () => {
  test(
    "downloads this machine's binary with curl, checks it against SHA256SUMS, installs it and the installed snetd runs",
    async () => {
      const prefix = freshPrefix();
      const before = requests.length;
      const run = await install([], { PREFIX: prefix, SNETD_RELEASE_URL: url("good") });
      expectInstalled(prefix, run);
      expect(
        requests
          .slice(before)
          .map((r) => r.path)
          .sort(),
      ).toEqual([`/good/${HERE}`, `/good/${SUMS_FILE}`].sort());
      expect(requests.slice(before).every((r) => r.userAgent.startsWith("curl/"))).toBe(true);
      const version = await runCli(["version"], { command: [join(prefix, "bin/snetd")] });
      expect(version.code).toBe(0);
      expect(version.stdout).toContain(`snetd ${manifest.version}\n`);
      expect(version.stdout).toContain("signatures: native libsecp256k1");
    },
    INSTALL_TIMEOUT_MS,
  );

  test(
    "works with wget where curl is missing, and with shasum where sha256sum is missing (macOS)",
    async () => {
      const prefix = freshPrefix();
      const before = requests.length;
      const run = await install([], {
        PREFIX: prefix,
        SNETD_RELEASE_URL: url("good"),
        PATH: pathWithout(["curl", "sha256sum"]),
      });
      expectInstalled(prefix, run);
      expect(requests.slice(before).every((r) => r.userAgent.startsWith("Wget/"))).toBe(true);
    },
    INSTALL_TIMEOUT_MS,
  );

  test(
    "the release's own install.sh piped into bash installs too",
    async () => {
      const prefix = freshPrefix();
      const run = await install(
        [],
        { PREFIX: prefix, SNETD_RELEASE_URL: url("good") },
        `curl -fsSL ${url("good")}/${INSTALLER_FILE} | bash`,
      );
      expectInstalled(prefix, run);
    },
    INSTALL_TIMEOUT_MS,
  );

  test(
    "a tampered binary is refused: exit 5, the mismatch named, the snetd already installed left as it was",
    async () => {
      const prefix = freshPrefix();
      mkdirSync(join(prefix, "bin"), { recursive: true });
      writeFileSync(join(prefix, "bin/snetd"), "#!/bin/sh\necho old snetd\n");
      chmodSync(join(prefix, "bin/snetd"), 0o755);
      const run = await install([], { PREFIX: prefix, SNETD_RELEASE_URL: url("tampered") });
      expect(run.code).toBe(5);
      expect(run.stderr).toMatch(
        new RegExp(
          `^install.sh: checksum mismatch for '${HERE}': SHA256SUMS says '[0-9a-f]{64}', the download is '[0-9a-f]{64}'; nothing installed$`,
          "m",
        ),
      );
      expect(readdirSync(join(prefix, "bin"))).toEqual(["snetd"]);
      expect(readFileSync(join(prefix, "bin/snetd"), "utf8")).toBe("#!/bin/sh\necho old snetd\n");
    },
    INSTALL_TIMEOUT_MS,
  );

  test(
    "a SHA256SUMS without the binary's line is refused",
    async () => {
      const prefix = freshPrefix();
      const run = await install([], { PREFIX: prefix, SNETD_RELEASE_URL: url("no-entry") });
      expectNothingInstalled(
        prefix,
        run,
        5,
        `install.sh: SHA256SUMS at '${url("no-entry")}' has no entry for '${HERE}'; nothing installed`,
      );
    },
    INSTALL_TIMEOUT_MS,
  );

  test(
    "a binary the server does not have fails with the URL named",
    async () => {
      const prefix = freshPrefix();
      const run = await install([], { PREFIX: prefix, SNETD_RELEASE_URL: url("missing") });
      expectNothingInstalled(prefix, run, 4, `install.sh: downloading '${url("missing")}/${HERE}' failed`);
    },
    INSTALL_TIMEOUT_MS,
  );
});

describe("install.sh picks the release for the machine", () => {
  /** A stand-in for uname (a mock: these machines are all Linux x86_64) answering -s and -m from the environment. */
  function mockUnamePath(): string {
    const dir = join(scratch, "mock-uname");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "uname"),
      '#!/bin/sh\ncase "$1" in -s) echo "$MOCK_UNAME_S" ;; -m) echo "$MOCK_UNAME_M" ;; esac\n',
    );
    chmodSync(join(dir, "uname"), 0o755);
    return `${dir}:${process.env.PATH ?? "/usr/bin:/bin"}`;
  }

  const cases: [string, string, string, string][] = [
    ["Linux", "x86_64", "snetd-linux-x64", "bin/snetd"],
    ["Linux", "aarch64", "snetd-linux-arm64", "bin/snetd"],
    ["Darwin", "x86_64", "snetd-darwin-x64", "bin/snetd"],
    ["Darwin", "arm64", "snetd-darwin-arm64", "bin/snetd"],
    ["MINGW64_NT-10.0-19045", "x86_64", "snetd-windows-x64.exe", "bin/snetd.exe"],
  ];
  for (const [os, cpu, file, dest] of cases) {
    test(`${os} ${cpu}: ${file}`, async () => {
      const run = await install(["--dry-run"], {
        PREFIX: "/opt/x",
        SNETD_RELEASE_URL: url("good"),
        PATH: mockUnamePath(),
        MOCK_UNAME_S: os,
        MOCK_UNAME_M: cpu,
      });
      expect(run).toEqual({
        code: 0,
        stdout: `would install ${url("good")}/${file} as /opt/x/${dest}, checked against ${url("good")}/SHA256SUMS\n`,
        stderr: "",
      });
    });
  }

  test("an unsupported CPU or operating system is refused with exit 3", async () => {
    const riscv = await install(["--dry-run"], {
      PATH: mockUnamePath(),
      MOCK_UNAME_S: "Linux",
      MOCK_UNAME_M: "riscv64",
      SNETD_RELEASE_URL: url("good"),
    });
    expect(riscv).toEqual({
      code: 3,
      stdout: "",
      stderr: "install.sh: no release binary for the CPU 'riscv64'; expected x86_64 or arm64 (try --from-source)\n",
    });
    const bsd = await install(["--dry-run"], {
      PATH: mockUnamePath(),
      MOCK_UNAME_S: "FreeBSD",
      MOCK_UNAME_M: "amd64",
      SNETD_RELEASE_URL: url("good"),
    });
    expect(bsd.code).toBe(3);
    expect(bsd.stderr).toBe(
      "install.sh: no release binary for the operating system 'FreeBSD'; expected Linux, Darwin or Windows (try --from-source)\n",
    );
  });

  test("without SNETD_RELEASE_URL: the project's GitHub releases, the latest or SNETD_VERSION's", async () => {
    const latest = await install(["--dry-run"], { PREFIX: "/p", SNETD_GITHUB_OWNER: "acme" });
    expect(latest.stdout).toBe(
      `would install https://github.com/acme/snetd/releases/latest/download/${HERE} as /p/bin/snetd, checked against https://github.com/acme/snetd/releases/latest/download/SHA256SUMS\n`,
    );
    const tagged = await install(["--dry-run"], { PREFIX: "/p", SNETD_GITHUB_OWNER: "acme", SNETD_VERSION: "v1.2.3" });
    expect(tagged.stdout).toContain(`https://github.com/acme/snetd/releases/download/v1.2.3/${HERE} as /p/bin/snetd`);
    const placeholder = await install(["--dry-run"], {});
    expect(placeholder.code).toBe(3);
    expect(placeholder.stderr).toContain("set SNETD_RELEASE_URL");
  });
});

describe("install.sh without a release", () => {
  test(
    "--from FILE installs that binary",
    async () => {
      const prefix = freshPrefix();
      const run = await install(["--from", join(RELEASE_DIR, HERE)], { PREFIX: prefix });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`installed ${join(prefix, "bin/snetd")}: snetd ${manifest.version}`);
      const missing = await install(["--from", join(scratch, "no-such-file")], { PREFIX: freshPrefix() });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("is not a file; expected a snetd binary");
    },
    INSTALL_TIMEOUT_MS,
  );

  test(
    "--from-source builds dist/snetd from the checkout and installs it",
    async () => {
      const prefix = freshPrefix();
      const run = await install(["--from-source"], { PREFIX: prefix });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/built .*dist\/snetd/);
      expect(run.stdout).toContain(`installed ${join(prefix, "bin/snetd")}: snetd ${manifest.version}`);
      expect(readFileSync(join(prefix, "bin/snetd")).equals(readFileSync(join(repoRoot, "dist/snetd")))).toBe(true);
    },
    INSTALL_TIMEOUT_MS,
  );
});
