/**
 * Real etcd clusters for tests: one or three `etcd` processes on 127.0.0.1, ports from `freePort()`, data in
 * a temp dir that `stop()` removes. The binary comes from `ETCD_BIN` or PATH; when it is missing every suite
 * that needs it fails loudly instead of skipping.
 *
 * @example
 * const cluster = await startEtcd({ members: 3 });
 * try { ... cluster.endpoints ... await cluster.members[0]!.kill(); } finally { await cluster.stop(); }
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { etcdMemberArgs } from "../../src/store/etcd-member-args.ts";
import { freePort } from "./ports.ts";

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  /** Pid of the current process (changes on restart). */
  readonly pid: number;
  /** Kills the process (SIGKILL by default) and waits until it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the member again with the same data dir and ports; it rejoins the cluster. */
  restart(): Promise<void>;
  /** etcd's own health check: this member is running and sees a leader (so the cluster has quorum). */
  healthy(): Promise<boolean>;
  /** Stops the process with SIGSTOP: its sockets stay open but nothing answers, like a hung host. */
  freeze(): void;
  /** Lets a frozen process run again (SIGCONT). */
  thaw(): void;
  /** How many gRPC calls of `method` (e.g. "Txn") this member has started, from its Prometheus metrics. */
  grpcStarted(method: string): Promise<number>;
}

export interface EtcdCluster {
  /** Client URLs, `http://127.0.0.1:PORT`. */
  endpoints: string[];
  members: EtcdMember[];
  /** Kills every member and removes all data. */
  stop(): Promise<void>;
}

const HEALTHY_WITHIN_MS = 30_000;
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Absolute path of the etcd binary, or an error telling how to install it. */
export function etcdBinary(): string {
  const fromEnv = process.env.ETCD_BIN;
  const candidates = fromEnv
    ? [fromEnv]
    : (process.env.PATH ?? "")
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, "etcd"));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // Not this one; keep looking.
    }
  }
  throw new Error(
    `etcd is not installed: run tests/kit/setup.sh or apt-get install -y etcd-server (looked for ${fromEnv ? `ETCD_BIN="${fromEnv}"` : '"etcd" on PATH'})`,
  );
}

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed test run must not leave etcd processes behind.
  process.on("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
    const body = (await res.json()) as { health?: string };
    return res.ok && body.health === "true";
  } catch {
    return false;
  }
}

async function grpcStarted(metricsUrl: string, method: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("grpc_server_started_total{") && line.includes(`grpc_method="${method}"`))
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

export interface EtcdTlsFiles {
  certFile: string;
  keyFile: string;
  /** Clients must present a certificate signed by this CA (mTLS). */
  caFile: string;
}

/** With `tls`, client URLs are https and require a client certificate; peers and health stay plain http. */
export async function startEtcd(opts: { members?: 1 | 3; tls?: EtcdTlsFiles } = {}): Promise<EtcdCluster> {
  const binary = etcdBinary();
  installExitHook();
  const count = opts.members ?? 1;
  const root = mkdtempSync(join(tmpdir(), "snetd-etcd-"));
  const token = `snetd-test-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const specs = [];
  for (let i = 1; i <= count; i++) {
    const name = `m${i}`;
    specs.push({
      name,
      clientPort: await freePort(),
      peerPort: await freePort(),
      metricsPort: await freePort(),
      dataDir: join(root, `${name}.etcd`),
      log: join(root, `${name}.log`),
    });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(",");

  const members = specs.map((s) => {
    const clientUrl = `${opts.tls ? "https" : "http"}://127.0.0.1:${s.clientPort}`;
    const healthUrl = `http://127.0.0.1:${s.metricsPort}`;
    const tlsArgs = opts.tls
      ? [
          "--cert-file",
          opts.tls.certFile,
          "--key-file",
          opts.tls.keyFile,
          "--trusted-ca-file",
          opts.tls.caFile,
          "--client-cert-auth",
        ]
      : [];
    const peerUrl = `http://127.0.0.1:${s.peerPort}`;
    let child: ChildProcess | undefined;
    const launch = () => {
      const fd = openSync(s.log, "a");
      try {
        child = spawn(
          binary,
          [
            ...etcdMemberArgs({
              name: s.name,
              dataDir: s.dataDir,
              clientUrl,
              peerUrl,
              cluster: initialCluster,
              token,
              logLevel: "warn",
            }),
            "--listen-metrics-urls",
            healthUrl,
            ...tlsArgs,
          ],
          { stdio: ["ignore", fd, fd] },
        );
      } finally {
        closeSync(fd);
      }
      const c = child;
      running.add(c);
      c.once("exit", () => running.delete(c));
    };
    const member: EtcdMember & { launch(): void; alive(): boolean; log: string; healthUrl: string } = {
      name: s.name,
      clientUrl,
      healthUrl,
      log: s.log,
      get pid() {
        return child?.pid ?? -1;
      },
      launch,
      healthy: () => healthy(healthUrl),
      freeze: () => child?.kill("SIGSTOP"),
      thaw: () => child?.kill("SIGCONT"),
      grpcStarted: (method) => grpcStarted(healthUrl, method),
      alive: () => child !== undefined && child.exitCode === null && child.signalCode === null,
      async kill(signal: NodeJS.Signals = "SIGKILL") {
        if (!child) return;
        child.kill(signal);
        await exited(child);
      },
      async restart() {
        if (member.alive()) await member.kill();
        launch();
        await waitHealthy([member]);
      },
    };
    return member;
  });

  async function waitHealthy(targets: typeof members) {
    const deadline = Date.now() + HEALTHY_WITHIN_MS;
    for (;;) {
      const dead = targets.find((m) => !m.alive());
      if (dead) throw new Error(`etcd member "${dead.name}" exited while starting: ${tail(dead.log)}`);
      if ((await Promise.all(targets.map((m) => healthy(m.healthUrl)))).every(Boolean)) return;
      if (Date.now() > deadline)
        throw new Error(
          `etcd members were not healthy within ${HEALTHY_WITHIN_MS} ms: ${targets.map((m) => tail(m.log)).join("\n")}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const stop = async () => {
    await Promise.all(members.map((m) => m.kill()));
    rmSync(root, { recursive: true, force: true });
  };

  try {
    for (const m of members) m.launch();
    await waitHealthy(members);
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoints: members.map((m) => m.clientUrl), members, stop };
}

/**
 * Calls etcd's JSON gateway (`POST /v3/...`) of a plain-http member, so tests can inspect or poke etcd
 * without going through the client under test. 64-bit numbers are decimal strings in etcd's JSON.
 */
export async function etcdGateway<T = Record<string, unknown>>(
  clientUrl: string,
  path: string,
  body: unknown = {},
): Promise<T> {
  const res = await fetch(`${clientUrl}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const json = (await res.json()) as T & { error?: string };
  if (!res.ok || json.error)
    throw new Error(`etcd gateway ${path} at "${clientUrl}" failed: ${res.status} ${json.error ?? ""}`);
  return json;
}

/** Whether the member at `clientUrl` says it is the raft leader. */
export async function isEtcdLeader(clientUrl: string): Promise<boolean> {
  const s = await etcdGateway<{ header: { member_id: string }; leader: string }>(clientUrl, "/v3/maintenance/status");
  return s.leader === s.header.member_id;
}

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export interface TestPki {
  caFile: string;
  /** Server certificate for "localhost" and 127.0.0.1. */
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/** A throw-away CA with a server and a client certificate, made by `openssl` in `dir`. */
export function makeTestPki(dir: string): TestPki {
  const run = (args: string[]) => {
    const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (r.error)
      throw new Error(`openssl is needed for the TLS tests: apt-get install -y openssl (${r.error.message})`);
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=snetd test CA"]);
  const issue = (name: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    run(["req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=snetd test ${name}`]);
    run([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-set_serial",
      String(Date.now()),
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    ]);
  };
  issue("server", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
  issue("client", "extendedKeyUsage=clientAuth\n");
  return {
    caFile: join(dir, "ca.pem"),
    serverCertFile: join(dir, "server.pem"),
    serverKeyFile: join(dir, "server.key"),
    clientCertFile: join(dir, "client.pem"),
    clientKeyFile: join(dir, "client.key"),
  };
}
