/** Starts the etcd member of `payment_channel_storage_server` when enabled; errors name the key to change. */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Config } from "../config/schema.ts";
import { Code } from "../core/errors.ts";
import { managedEtcdFailed } from "../core/messages/startup.ts";
import type { Logger } from "../ops/log.ts";
import { ManagedEtcdError, startManagedEtcd } from "../store/etcd-server.ts";

/** Pid of the member this daemon started, kept in its data dir (etcd only warns about unknown files there). */
const PID_FILE = "snetd-member.pid";
const LEFTOVER_STOP_MS = 10_000;

/** The argv of a running process, or undefined (not running, or no /proc on this system). */
function argvOf(pid: number): string[] | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    if (/^State:\s+Z/m.test(status)) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return undefined;
  }
}

/**
 * A daemon killed without a chance to stop its member (SIGKILL, OOM) leaves it running, holding the
 * ports and the data dir, and every restart would then fail on a busy port. That member is ours: the pid
 * file names it, and it is stopped only if that pid is still an etcd on this very data dir (pids get reused).
 */
async function stopLeftoverMember(dataDir: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, PID_FILE), "utf8").trim());
  } catch {
    return;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return;
  const argv = argvOf(pid);
  const at = argv?.indexOf("--data-dir") ?? -1;
  if (!argv || at < 0 || argv[at + 1] !== dataDir) return;
  log.warn("stopping the etcd member a previous snetd left running", { pid, data_dir: dataDir });
  const gone = async (ms: number) => {
    for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
      if (!argvOf(pid)) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return !argvOf(pid);
  };
  try {
    process.kill(pid, "SIGTERM");
    if (!(await gone(LEFTOVER_STOP_MS))) {
      process.kill(pid, "SIGKILL");
      await gone(LEFTOVER_STOP_MS);
    }
  } catch {
    // It exited meanwhile, or is not ours to signal; starting the member reports a busy port if so.
  }
}

export async function maybeStartManagedEtcd(
  config: Config,
  log: Logger,
): Promise<{ clientUrl: string; stop(): Promise<void> } | undefined> {
  const s = config.payment_channel_storage_server;
  if (!s.enabled) return undefined;
  const dataDir = isAbsolute(s.data_dir) ? s.data_dir : join(process.cwd(), s.data_dir);
  await stopLeftoverMember(dataDir, log);
  try {
    const member = await startManagedEtcd({
      id: s.id,
      scheme: "http",
      host: s.host,
      clientPort: s.client_port,
      peerPort: s.peer_port,
      token: s.token,
      cluster: s.cluster,
      dataDir,
      startupTimeoutMs: s.startup_timeout,
      binary: s.binary,
      ...(s.log_outputs[0] && s.log_outputs[0] !== "stderr" && s.log_outputs[0] !== "stdout"
        ? { logFile: s.log_outputs[0] }
        : {}),
    });
    const pidFile = join(dataDir, PID_FILE);
    try {
      writeFileSync(pidFile, `${member.pid}\n`);
    } catch (err) {
      log.warn("cannot record the etcd member's pid; after a crash, stop it by hand before restarting", {
        file: pidFile,
        error: (err as Error).message,
      });
    }
    log.info("managed etcd member is up", {
      id: s.id,
      client_url: member.clientUrl,
      data_dir: dataDir,
      pid: member.pid,
    });
    return {
      clientUrl: member.clientUrl,
      async stop() {
        await member.stop();
        rmSync(pidFile, { force: true });
      },
    };
  } catch (err) {
    if (err instanceof ManagedEtcdError) {
      throw managedEtcdFailed(err.message, err.key, err.code === Code.UNAVAILABLE, err);
    }
    throw err;
  }
}
