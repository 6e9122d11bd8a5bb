/**
 * A local etcd member supervised by the daemon: the reference's `payment_channel_storage_server` section
 * (protocol/config.md#etcd-member), run as a child `etcd` process instead of an embedded library.
 *
 * Every problem an operator can fix is found before or while starting and reported as a
 * `ManagedEtcdError` whose `key` is the config key to change (port clashes between daemons were the
 * reference's most reported embedded-etcd failure). A data dir that already holds a
 * member is simply reused: etcd then restarts that member and ignores the initial-cluster flags.
 *
 * @example
 * const member = await startManagedEtcd({ id: "storage-1", scheme: "http", host: "127.0.0.1", clientPort: 2379,
 *   peerPort: 2380, token: "unique-token", cluster: "storage-1=http://127.0.0.1:2380",
 *   dataDir: "storage-data-dir-1.etcd", startupTimeoutMs: 60_000 });
 * // ... etcdStore({ endpoints: [member.clientUrl] }) ...
 * await member.stop();
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import net from "node:net";
import { delimiter, join } from "node:path";
import { Code, SnetError } from "../core/errors.ts";
import { etcdMemberArgs } from "./etcd-member-args.ts";

const SECTION = "payment_channel_storage_server";
const STOP_GRACE_MS = 10_000;
const LOG_LINES = 20;

/** The member could not start; `key` names the setting to change. A start-up timeout is UNAVAILABLE. */
export class ManagedEtcdError extends SnetError {
  override readonly name = "ManagedEtcdError";
  constructor(
    /** The config key to change, e.g. `payment_channel_storage_server.client_port`. */
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(key.endsWith(".startup_timeout") ? Code.UNAVAILABLE : Code.INVALID_ARGUMENT, message, options);
  }
}

export interface ManagedEtcdOptions {
  /** Member name; must appear in `cluster`. */
  id: string;
  scheme: "http";
  host: string;
  clientPort: number;
  peerPort: number;
  /** Initial cluster token. */
  token: string;
  /** Initial cluster, e.g. `storage-1=http://127.0.0.1:2380,storage-2=http://127.0.0.1:2382`. */
  cluster: string;
  dataDir: string;
  /** For a multi-member cluster, the time allowed for the other members to come up too. */
  startupTimeoutMs: number;
  /** Path or name on PATH; default "etcd". */
  binary?: string;
  /** etcd's own log file; without it the last lines are kept in memory for error messages. */
  logFile?: string;
  logLevel?: "debug" | "info" | "warn" | "error";
}

export interface ManagedEtcd {
  clientUrl: string;
  pid: number;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

const fail = (key: string, message: string, cause?: unknown): never => {
  throw new ManagedEtcdError(key ? `${SECTION}.${key}` : SECTION, message, cause === undefined ? undefined : { cause });
};

function findBinary(binary: string): string {
  const candidates = binary.includes("/")
    ? [binary]
    : (process.env.PATH ?? "")
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, binary));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      // Not here; try the next PATH entry.
    }
  }
  return fail(
    "binary",
    `etcd binary "${binary}" was not found${binary.includes("/") ? "" : " on PATH"}: install etcd-server (apt-get install -y etcd-server) or set ${SECTION}.binary to its path`,
  );
}

function checkCluster(opts: ManagedEtcdOptions, peerUrl: string) {
  const members = new Map<string, string[]>();
  for (const part of opts.cluster
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) fail("cluster", `cluster entry "${part}" is not NAME=URL, in "${opts.cluster}"`);
    const name = part.slice(0, eq);
    members.set(name, [...(members.get(name) ?? []), part.slice(eq + 1)]);
  }
  const own = members.get(opts.id);
  if (!own)
    fail(
      "cluster",
      `cluster "${opts.cluster}" has no entry for this member's id "${opts.id}": add "${opts.id}=${peerUrl}"`,
    );
  if (!own!.includes(peerUrl)) {
    fail(
      "cluster",
      `cluster entry for "${opts.id}" is "${own!.join(",")}" but this member's peer URL is "${peerUrl}": make them equal`,
    );
  }
}

function checkDataDir(dataDir: string) {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const probe = join(dataDir, `.snetd-write-test-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
  } catch (err) {
    fail("data_dir", `data dir "${dataDir}" is not writable: ${(err as Error).message}`, err);
  }
}

/** Listens on the port for a moment: the only reliable "is it free" test, done before etcd is spawned. */
function checkPort(host: string, port: number, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "EADDRINUSE"
          ? new ManagedEtcdError(
              `${SECTION}.${key}`,
              `port ${port} on "${host}" is already in use (another etcd or daemon?): choose a free ${key}`,
              { cause: err },
            )
          : new ManagedEtcdError(`${SECTION}.host`, `cannot listen on "${host}:${port}": ${err.message}`, {
              cause: err,
            }),
      );
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

function tailFile(path: string): string[] {
  try {
    const fd = openSync(path, "r");
    try {
      const size = statSync(path).size;
      const length = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, size - length);
      return buf.toString("utf8").split("\n");
    } finally {
      closeSync(fd);
    }
  } catch {
    return [];
  }
}

async function healthy(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: unknown };
    return res.ok && body.health === "true";
  } catch {
    return false;
  }
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()));

/** Starts an etcd member as a child process and waits until it is healthy. */
export async function startManagedEtcd(opts: ManagedEtcdOptions): Promise<ManagedEtcd> {
  const binary = findBinary(opts.binary ?? "etcd");
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  const clientUrl = `${opts.scheme}://${host}:${opts.clientPort}`;
  const peerUrl = `${opts.scheme}://${host}:${opts.peerPort}`;
  checkCluster(opts, peerUrl);
  checkDataDir(opts.dataDir);
  await checkPort(opts.host, opts.clientPort, "client_port");
  await checkPort(opts.host, opts.peerPort, "peer_port");

  const recent: string[] = [];
  const remember = (chunk: Buffer) => {
    recent.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    recent.splice(0, Math.max(0, recent.length - LOG_LINES));
  };
  const lastLines = () => {
    const fromFile = opts.logFile ? tailFile(opts.logFile).filter(Boolean) : [];
    const lines = [...fromFile, ...recent].slice(-LOG_LINES);
    return lines.length ? `; last lines of etcd's log:\n${lines.join("\n")}` : "; etcd logged nothing";
  };

  const args = [
    ...etcdMemberArgs({
      name: opts.id,
      dataDir: opts.dataDir,
      clientUrl,
      peerUrl,
      cluster: opts.cluster,
      token: opts.token,
      logLevel: opts.logLevel ?? "info",
    }),
    "--log-outputs",
    opts.logFile ?? "stderr",
  ];
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    // Some runtimes (Bun) throw here instead of emitting "error", e.g. for a file that is not a program.
    return fail("binary", `cannot run etcd binary "${binary}": ${(err as Error).message}`, err);
  }
  child.stdout?.on("data", remember);
  child.stderr?.on("data", remember);
  // The member must not outlive a daemon that exits without calling stop().
  const onExit = () => child.kill("SIGTERM");
  process.on("exit", onExit);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      process.off("exit", onExit);
      // No pid: the spawn itself failed, and such a child may never emit "exit".
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const grace = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await exited(child);
      clearTimeout(grace);
    })());

  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  const deadline = Date.now() + opts.startupTimeoutMs;
  try {
    for (;;) {
      const err = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(() => r(undefined), 0))]);
      if (err) fail("binary", `cannot run etcd binary "${binary}": ${err.message}`, err);
      if (child.exitCode !== null || child.signalCode !== null) {
        fail(
          "",
          `etcd exited with ${child.exitCode !== null ? `code ${child.exitCode}` : child.signalCode} while starting${lastLines()}`,
        );
      }
      if (await healthy(clientUrl)) break;
      if (Date.now() >= deadline) {
        fail(
          "startup_timeout",
          `etcd member "${opts.id}" at "${clientUrl}" was not healthy within ${opts.startupTimeoutMs} ms (a multi-member cluster needs a quorum of its members started): raise startup_timeout or start the other members${lastLines()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { clientUrl, pid: child.pid ?? -1, stop };
}
