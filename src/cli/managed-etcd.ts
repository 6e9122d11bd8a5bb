/** Starts the etcd member of `payment_channel_storage_server` when enabled; errors name the key to change. */
import { isAbsolute, join } from "node:path";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../ops/log.ts";
import { ManagedEtcdError, startManagedEtcd } from "../store/etcd-server.ts";
import { CliError, Exit } from "./exit-codes.ts";

export async function maybeStartManagedEtcd(config: Config, log: Logger): Promise<{ clientUrl: string; stop(): Promise<void> } | undefined> {
  const s = config.payment_channel_storage_server;
  if (!s.enabled) return undefined;
  const dataDir = isAbsolute(s.data_dir) ? s.data_dir : join(process.cwd(), s.data_dir);
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
      ...(s.log_outputs[0] && s.log_outputs[0] !== "stderr" && s.log_outputs[0] !== "stdout" ? { logFile: s.log_outputs[0] } : {}),
    });
    log.info("managed etcd member is up", { id: s.id, client_url: member.clientUrl, data_dir: dataDir });
    return member;
  } catch (err) {
    if (err instanceof ManagedEtcdError) {
      throw new CliError(/timeout|healthy/i.test(err.message) ? Exit.UNREACHABLE : Exit.USAGE, `${err.message} (change ${err.key})`, { cause: err });
    }
    throw err;
  }
}
