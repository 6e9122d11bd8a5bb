/**
 * snetd as a child process, for end-to-end suites: the real entry point (`bun src/main.ts`) or the
 * compiled binary (`dist/snetd`), a config file in a fresh temp dir, and the last log lines kept so a
 * failure explains itself.
 *
 * @example
 * const daemon = await startDaemon({ config: { service_endpoint: `http://${service.address}`, blockchain_enabled: false } });
 * try {
 *   await daemon.showLogsOnFailure(async () => {
 *     const r = await call(echoClient(daemon.endpoint), "Echo", { text: "hi" });
 *     expect(r.status.code).toBe(grpc.status.OK);
 *   });
 * } finally {
 *   await daemon.stop();
 * }
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SNETD_BINARY } from "./binary.ts";
import { denoSnetdCommand } from "./deno.ts";
import { freePort } from "./ports.ts";

export { ensureBinary, SNETD_BINARY } from "./binary.ts";

const repoRoot = resolve(import.meta.dir, "../..");
const KEEP_LINES = 200;
const START_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 10_000;

export interface StartDaemonOptions {
  /** Written as JSON; `daemon_endpoint` is filled with a free loopback port when absent. */
  config: Record<string, unknown>;
  /** Run `dist/snetd` (built by `npm run build` or `ensureBinary()`) instead of `bun src/main.ts`. */
  binary?: boolean;
  /** Added to the parent's environment, from which every `SNET_*` variable is removed first. */
  env?: Record<string, string>;
  /** Working directory; defaults to the temp dir holding the config. */
  cwd?: string;
  /** The daemon should exit on its own (bad config…): resolve on exit instead of failing. */
  expectExit?: boolean;
  /** Run this instead of snetd (the kit's own tests, a reference daemon); `serve -c <file>` is appended. */
  command?: string[];
  /** Called with every line of stdout and stderr (the kit itself keeps only the last 200). */
  onLine?: (line: string) => void;
  /** What follows `command` before `-c <file>`; default `["serve"]` (`[]` for `deno task serve`). */
  args?: string[];
}

export interface DaemonProcess {
  /** `host:port` to dial, with a wildcard listen host replaced by 127.0.0.1 */
  endpoint: string;
  /** `http://endpoint` (https when the config has `ssl_cert` or `auto_ssl_domain`) */
  url: string;
  pid: number;
  /** Temp dir holding `snetd.config.json`; `stop()` removes it */
  dir: string;
  /** The last ~200 lines of stdout and stderr, interleaved as they arrived */
  logs(): string;
  /** Sends `signal` (default SIGTERM) and waits; the exit code, or null when a signal ended it */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /**
   * SIGTERM, then SIGKILL after 10 s; then removes `dir` unless `keepDir` (to restart in it).
   * Safe to call after the process has exited; call it in every test's cleanup.
   */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
  waitExit(): Promise<{ code: number | null; signal: string | null }>;
  /** Runs `fn`; if it throws, prints the daemon's last log lines before rethrowing */
  showLogsOnFailure<T>(fn: () => T | Promise<T>): Promise<T>;
}

// Best effort for plain scripts (demo, bench): bun test exits without emitting 'exit', so under
// test the runner's --no-orphans and each test's stop() do this job.
const live = new Set<{ kill(signal?: number | NodeJS.Signals): void }>();
const tempDirs = new Set<string>();
process.on("exit", () => {
  for (const proc of live) proc.kill("SIGKILL");
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export async function startDaemon(opts: StartDaemonOptions): Promise<DaemonProcess> {
  const dir = makeTempDir("snetd-e2e-");
  const config = { ...opts.config };
  const configured = opts.env?.SNET_DAEMON_ENDPOINT ?? config.daemon_endpoint ?? config.daemon_end_point;
  if (configured === undefined) config.daemon_endpoint = `127.0.0.1:${await freePort()}`;
  const endpoint = dialable(String(configured ?? config.daemon_endpoint));
  const tls =
    (typeof config.ssl_cert === "string" && config.ssl_cert !== "") ||
    (typeof config.auto_ssl_domain === "string" && config.auto_ssl_domain !== "");
  const url = `${tls ? "https" : "http"}://${endpoint}`;
  const configFile = join(dir, "snetd.config.json");
  // 0600, as an operator should keep a file with keys in it (snetd warns otherwise).
  writeFileSync(configFile, JSON.stringify(config, null, 2), { mode: 0o600 });

  const cmd = [...(opts.command ?? snetdCommand(opts.binary)), ...(opts.args ?? ["serve"]), "-c", configFile];
  const proc = Bun.spawn({
    cmd,
    cwd: opts.cwd ?? dir,
    env: childEnv(opts.env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  live.add(proc);
  const lines: string[] = [];
  const keep = (line: string) => {
    opts.onLine?.(line);
    lines.push(line);
    if (lines.length > KEEP_LINES) lines.shift();
  };
  const drained = Promise.all([pump(proc.stdout, keep), pump(proc.stderr, keep)]);
  const logs = () => lines.join("\n");
  const label = `snetd (pid ${proc.pid}, ${endpoint})`;

  // Startup failures report the logs in the thrown error; print them only for later deaths.
  let starting = true;
  let stopping = false;
  const exit = proc.exited.then(async () => {
    live.delete(proc);
    await drained;
    const result = { code: proc.exitCode, signal: proc.signalCode === null ? null : String(proc.signalCode) };
    if (!starting && !stopping && !opts.expectExit) {
      console.error(
        `${label} exited unexpectedly (code ${result.code}, signal ${result.signal}); last log lines:\n${logs()}`,
      );
    }
    return result;
  });

  const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
    stopping = true;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return (await exit).code;
  };
  const daemon: DaemonProcess = {
    endpoint,
    url,
    pid: proc.pid,
    dir,
    logs,
    kill,
    async stop(stopOpts = {}) {
      stopping = true;
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_GRACE_MS);
        await exit;
        clearTimeout(timer);
      }
      await exit;
      if (!stopOpts.keepDir) removeTempDir(dir);
    },
    waitExit: () => exit,
    async showLogsOnFailure(fn) {
      try {
        return await fn();
      } catch (error) {
        console.error(`${label} last log lines:\n${logs()}`);
        throw error;
      }
    },
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (await heartbeatOk(url, tls)) break;
    const exited = await Promise.race([exit.then(() => true), Bun.sleep(100).then(() => false)]);
    if (exited) {
      if (opts.expectExit) break;
      const { code, signal } = await exit;
      removeTempDir(dir);
      throw new Error(
        `${label} exited before answering '${url}/heartbeat' (code ${code}, signal ${signal}); last log lines:\n${logs()}`,
      );
    }
    if (Date.now() > deadline) {
      await kill("SIGKILL");
      removeTempDir(dir);
      throw new Error(
        `${label} did not answer '${url}/heartbeat' with 200 within ${START_TIMEOUT_MS} ms; last log lines:\n${logs()}`,
      );
    }
  }
  starting = false;
  return daemon;
}

export interface RunCliOptions {
  binary?: boolean;
  env?: Record<string, string>;
  /** Defaults to a fresh temp dir, removed afterwards */
  cwd?: string;
  input?: string | Uint8Array;
  /** Kill the command after this long (default 60 s) and fail */
  timeoutMs?: number;
  command?: string[];
}

/** Runs one CLI command to completion; the code is 128+signal when a signal ended it. */
export async function runCli(
  args: string[],
  opts: RunCliOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = [...(opts.command ?? snetdCommand(opts.binary)), ...args];
  const ownDir = opts.cwd === undefined ? makeTempDir("snetd-cli-") : undefined;
  try {
    return await runToEnd(cmd, opts.cwd ?? ownDir ?? repoRoot, opts);
  } finally {
    if (ownDir) removeTempDir(ownDir);
  }
}

async function runToEnd(
  cmd: string[],
  cwd: string,
  opts: RunCliOptions,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const input = opts.input;
  const proc = Bun.spawn({
    cmd,
    cwd,
    env: childEnv(opts.env),
    stdin: input === undefined ? "ignore" : new Blob([typeof input === "string" ? input : new Uint8Array(input)]),
    stdout: "pipe",
    stderr: "pipe",
  });
  live.add(proc);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, timeoutMs);
  try {
    const [stdout, stderr] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    if (timedOut)
      throw new Error(
        `'${cmd.join(" ")}' did not finish within ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`,
      );
    const signal = proc.signalCode as keyof typeof constants.signals | null;
    const code = proc.exitCode ?? 128 + (signal ? constants.signals[signal] : 0);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    live.delete(proc);
  }
}

function snetdCommand(binary: boolean | undefined): string[] {
  // SNETD_TEST_RUNTIME=deno runs any suite's daemon and CLI from source under Deno, instead of Bun or dist/snetd.
  if (process.env.SNETD_TEST_RUNTIME === "deno") return denoSnetdCommand();
  const entry = binary ? SNETD_BINARY : join(repoRoot, "src/main.ts");
  if (!existsSync(entry)) {
    throw new Error(
      binary
        ? `Daemon binary '${entry}' does not exist; run 'npm run build' first`
        : `Daemon entry '${entry}' does not exist`,
    );
  }
  // process.execPath is the Bun running the tests, so no global bun is needed.
  return binary ? [entry] : [process.execPath, entry];
}

function childEnv(extra: Record<string, string> | undefined): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const [key, value] of Object.entries(process.env)) {
    // An SNET_* variable in the developer's shell would silently override the test's config.
    if (value !== undefined && !key.startsWith("SNET_")) env[key] = value;
  }
  return { ...env, ...extra };
}

/** `0.0.0.0:P`, `[::]:P` or `http://host:P` as something a client can dial. */
function dialable(listen: string): string {
  const hostPort = listen.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  const match = /^(.*):(\d+)$/.exec(hostPort);
  if (!match) throw new Error(`Daemon endpoint '${listen}' has no port; expected 'host:port'`);
  const host = match[1] === "" || match[1] === "0.0.0.0" || match[1] === "[::]" ? "127.0.0.1" : match[1];
  return `${host}:${match[2]}`;
}

async function heartbeatOk(url: string, tls: boolean): Promise<boolean> {
  try {
    // Test certificates are self-signed; the heartbeat only tells us the daemon is up.
    // No kept-alive connection left behind: the limit suites count the daemon's connections.
    const init = {
      signal: AbortSignal.timeout(2000),
      keepalive: false,
      headers: { connection: "close" },
      ...(tls ? { tls: { rejectUnauthorized: false } } : {}),
    };
    const response = await fetch(`${url}/heartbeat`, init);
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function pump(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  let partial = "";
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const parts = (partial + decoder.decode(value, { stream: true })).split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) onLine(line);
  }
  partial += decoder.decode();
  if (partial !== "") onLine(partial);
}
